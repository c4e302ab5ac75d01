use ruff_python_ast as rs;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args[1].clone();
    let n: usize = args[2].parse().unwrap();
    let mb: usize = args[3].parse().unwrap();
    let src = match kind.as_str() {
        "list" => format!("x = {}{}", "[".repeat(n), "]".repeat(n)),
        "not" => format!("x = {}a", "not ".repeat(n)),
        "neg" => format!("x = {}a", "-".repeat(n)),
        "lambda" => format!("x = {}0", "lambda: ".repeat(n)),
        "binop" => format!("x = a{}", "+a".repeat(n)),
        "call" => format!("x = a{}", "()".repeat(n)),
        "elif" => format!("if a: pass\n{}", "elif a: pass\n".repeat(n)),
        _ => panic!(),
    };
    let h = std::thread::Builder::new()
        .stack_size(mb << 20)
        .spawn(move || {
            let options = ruff_python_parser::ParseOptions::from(rs::PySourceType::Python);
            let parsed = ruff_python_parser::parse_unchecked(&src, options);
            let ok = parsed.errors().is_empty();
            drop(parsed);
            ok
        })
        .unwrap();
    println!("{kind} {n} {mb}MB -> {:?}", h.join().map_err(|_| "panic"));
}
