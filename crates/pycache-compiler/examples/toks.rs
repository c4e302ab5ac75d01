use ruff_python_ast as rs;
use ruff_text_size::Ranged;
fn main() {
    let src = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let parsed =
        ruff_python_parser::parse_unchecked(&src, ruff_python_parser::ParseOptions::from(rs::PySourceType::Python));
    for t in parsed.tokens().iter() {
        println!("{:?} {:?}", t.kind(), t.range());
    }
    for e in parsed.errors() {
        println!("ERR {:?}", e);
    }
}
