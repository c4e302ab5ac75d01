//! Programs aimed at the native compiler's corners: f-strings with
//! escapes, debug fields and nested specs; nesting at each of CPython's
//! limits and one past it; match, PEP 695, async; big constants; odd
//! whitespace and encodings; and random damage, so that invalid programs
//! are checked too. Each program is bytes, reproducible from the seed.

use std::sync::atomic::{AtomicBool, Ordering};

use fastrand::Rng;

/// Whether f-strings may come out as t-strings (PEP 750), alone or
/// concatenated with other literals: set for 3.14 targets (and on request
/// for older ones, whose errors they then check). Off, the programs of a
/// seed are what they always were.
pub static TSTRINGS: AtomicBool = AtomicBool::new(false);

fn tstrings() -> bool {
    TSTRINGS.load(Ordering::Relaxed)
}

pub fn program(rng: &mut Rng) -> Vec<u8> {
    let mut text = String::new();
    for _ in 0..rng.usize(1..=4) {
        let snippet = match rng.usize(0..12) {
            0 | 1 => fstring(rng),
            2 => near_limit(rng),
            3 => matching(rng),
            4 => pep695(rng),
            5 => asyncs(rng),
            6 => constants(rng),
            7 => whitespace(rng),
            8 | 9 => statements(rng),
            10 => functions(rng),
            _ => expression_stmt(rng),
        };
        text.push_str(&snippet);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    if rng.usize(0..8) == 0 {
        text = damage(rng, &text);
    }
    let mut bytes = text.into_bytes();
    match rng.usize(0..20) {
        0 => bytes = crlf(&bytes),
        1 => {
            let mut b = b"\xef\xbb\xbf".to_vec();
            b.extend(bytes);
            bytes = b;
        }
        2 => {
            // Latin-1 under a cookie: a non-ASCII byte in a string.
            let mut b = b"# -*- coding: latin-1 -*-\ns = '\xe9\xff'\n".to_vec();
            b.extend(bytes);
            bytes = b;
        }
        3 => {
            while bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
        }
        _ => {}
    }
    bytes
}

fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(0..items.len())]
}

fn name(rng: &mut Rng) -> String {
    pick(rng, &["a", "b", "x", "y", "_", "λ", "self", "match", "type", "case", "print", "__debug__", "None1", "ſ"])
        .to_owned()
}

fn atom(rng: &mut Rng) -> String {
    match rng.usize(0..10) {
        0 => rng.i64(-5..300).to_string(),
        1 => format!("{}.{}", rng.u32(0..100), rng.u32(0..100)),
        2 => pick(rng, &["'s'", "b'b'", "''", "'\\x41\\n'", "r'\\d'", "'\\u0394'", "\"\\N{BULLET}\"", "u'u'", "'\\d'"])
            .to_owned(),
        3 => pick(rng, &["None", "True", "False", "...", "1j", "0x1F", "0o17", "0b101", "1_000", "1e309", "-0.0"])
            .to_owned(),
        4 => format!("({}, {})", rng.i32(0..9), pick(rng, &["'t'", "None", "2.5", "(1,)"])),
        _ => name(rng),
    }
}

fn expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.usize(0..3) == 0 {
        return atom(rng);
    }
    let d = depth - 1;
    match rng.usize(0..22) {
        0 => format!(
            "{} {} {}",
            expr(rng, d),
            pick(rng, &["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@"]),
            expr(rng, d)
        ),
        1 => format!("{} {} {}", expr(rng, d), pick(rng, &["and", "or"]), expr(rng, d)),
        2 => format!("{}{}", pick(rng, &["not ", "-", "+", "~"]), expr(rng, d)),
        3 => format!(
            "{} {} {}",
            expr(rng, d),
            pick(rng, &["<", "==", "is", "is not", "in", "not in", ">="]),
            expr(rng, d)
        ),
        4 => format!("({} if {} else {})", expr(rng, d), expr(rng, d), expr(rng, d)),
        5 => format!("[{}, {}]", expr(rng, d), expr(rng, d)),
        6 => format!("({},)", expr(rng, d)),
        7 => format!("{{{}: {}}}", expr(rng, d), expr(rng, d)),
        8 => format!("{{{}, *{}}}", expr(rng, d), expr(rng, d)),
        9 => format!("[{} for {} in {} if {}]", expr(rng, d), name(rng), expr(rng, d), expr(rng, d)),
        10 => format!("({} for {} in {})", expr(rng, d), name(rng), expr(rng, d)),
        11 => format!("{{{}: {} for {}, {} in {}}}", name(rng), expr(rng, d), name(rng), name(rng), expr(rng, d)),
        12 => format!("(lambda {}=({}), *a, **k: {})", name(rng), expr(rng, d), expr(rng, d)),
        13 => format!("{}({}, *{}, k={}, **{})", name(rng), expr(rng, d), expr(rng, d), expr(rng, d), expr(rng, d)),
        14 => format!("{}[{}:{}:{}]", name(rng), expr(rng, d), expr(rng, d), expr(rng, d)),
        15 => format!("{}.{}", expr(rng, d), name(rng)),
        16 => format!("({} := {})", name(rng), expr(rng, d)),
        17 => fstring_expr(rng, d),
        18 => format!("{} {}", atom(rng), atom(rng)),
        19 => format!("(yield {})", expr(rng, d)),
        20 => format!("[*{}, {}]", expr(rng, d), expr(rng, d)),
        _ => format!("{}[{}, {}]", name(rng), expr(rng, d), expr(rng, d)),
    }
}

/// An f-string: literal parts with escapes, fields with debug text,
/// conversions, comments, nested specs.
fn fstring_expr(rng: &mut Rng, depth: usize) -> String {
    let raw = rng.usize(0..5) == 0;
    let quote = pick(rng, &["'", "\"", "'''", "\"\"\""]);
    let triple = quote.len() == 3;
    let template = tstrings() && rng.usize(0..3) == 0;
    let prefix = match (raw, template) {
        (true, false) => pick(rng, &["rf", "fr", "Rf"]),
        (false, false) => pick(rng, &["f", "F"]),
        (true, true) => pick(rng, &["rt", "tr", "Rt", "tR"]),
        (false, true) => pick(rng, &["t", "T"]),
    };
    let mut s = format!("{prefix}{quote}");
    for _ in 0..rng.usize(1..4) {
        s.push_str(pick(
            rng,
            &["a", "\\n", "\\x41", "\\u0394", "\\N{BULLET}", "\\\\", "{{", "}}", "\\d", " ", "\\101", "#", "\\{"],
        ));
        s.push_str(&field(rng, depth, 0, triple));
    }
    s.push_str(quote);
    s
}

fn field(rng: &mut Rng, depth: usize, spec_level: usize, triple: bool) -> String {
    let inner = match rng.usize(0..8) {
        0 => pick(
            rng,
            &["'\\u0394'", "'\\n'", "'\\x41'", "br'raw\\n'", "'\\\\'", "'\\t'", "\"a#b\"", "'\\101'", "b'\\x41'"],
        )
        .to_owned(),
        1 if depth > 0 => fstring_expr(rng, depth - 1),
        _ => expr(rng, depth.min(2)),
    };
    let mut f = format!("{{{}{inner}", pick(rng, &["", " "]));
    if rng.bool() {
        f.push_str(pick(rng, &["=", " = ", "= "]));
        if triple && rng.usize(0..4) == 0 {
            f.push_str(" # note\n");
        }
    }
    if rng.usize(0..3) == 0 {
        f.push_str(pick(rng, &["!r", "!s", "!a"]));
    }
    if rng.usize(0..3) == 0 {
        f.push(':');
        f.push_str(pick(rng, &[">10", "x", ".2f", "", "\\n", "{{}}", "%Y"]));
        if rng.bool() {
            f.push_str(&field(rng, depth.saturating_sub(1), spec_level + 1, triple));
        }
    }
    f.push('}');
    f
}

fn fstring(rng: &mut Rng) -> String {
    if tstrings() && rng.usize(0..3) == 0 {
        // An implicit concatenation: t-strings join each other only.
        let other = match rng.usize(0..4) {
            0 => pick(rng, &["'s'", "b'b'", "f'{x}'", "u''"]).to_owned(),
            _ => fstring_expr(rng, 1),
        };
        return format!("{} = ({}\n    {})\n", name(rng), fstring_expr(rng, 1), other);
    }
    format!("{} = {}\n", name(rng), fstring_expr(rng, 2))
}

fn expression_stmt(rng: &mut Rng) -> String {
    format!("{}\n", expr(rng, 4))
}

/// Nesting at one of CPython's limits, one either side.
fn near_limit(rng: &mut Rng) -> String {
    let around = |rng: &mut Rng, limit: usize| (limit + rng.usize(0..5)).saturating_sub(3);
    match rng.usize(0..14) {
        0 => {
            let n = around(rng, 200);
            format!("x = {}a{}\n", "(".repeat(n), ")".repeat(n))
        }
        1 => {
            let n = around(rng, 200);
            format!("x = {}{}\n", "[".repeat(n), "]".repeat(n))
        }
        2 => {
            let n = rng.usize(180..202);
            format!("x = {}{}\n", "(a,".repeat(n), ")".repeat(n))
        }
        3 => {
            let n = around(rng, 100);
            let mut s: String = (0..n).map(|i| format!("{}if a:\n", " ".repeat(i))).collect();
            s.push_str(&format!("{}pass\n", " ".repeat(n)));
            s
        }
        4 => {
            let n = around(rng, 150);
            format!("x = {}a{}\n", "f'{".repeat(n), "}'".repeat(n))
        }
        5 => pick(
            rng,
            &["x = f'{a:{b}}'\n", "x = f'{a:{b:{c}}}'\n", "x = f'{a:{b:{c:{d}}}}'\n", "x = f'{a!r:{b:>{c}}}'\n"],
        )
        .to_owned(),
        6 => {
            let n = rng.usize(2970..3010);
            format!("x = {}\n", vec![pick(rng, &["a", "1", "'s'"]); n].join(pick(rng, &["+", "*", "|"])))
        }
        7 => {
            let n = rng.usize(2970..3010);
            format!("x = {}a\n", pick(rng, &["not ", "-", "~"]).repeat(n))
        }
        8 => {
            let n = rng.usize(2970..3010);
            format!("if a: pass\n{}", "elif a: pass\n".repeat(n))
        }
        9 => {
            let n = rng.usize(980..1010);
            format!("x = {}0\n", "lambda: ".repeat(n))
        }
        10 => {
            let n = rng.usize(2970..3010);
            format!("x = a{}\n", pick(rng, &["()", ".b", "[0]"]).repeat(n))
        }
        11 => {
            let n = around(rng, 20);
            let mut s: String = (0..n).map(|i| format!("{}for x in y:\n", " ".repeat(i))).collect();
            s.push_str(&format!("{}pass\n", " ".repeat(n)));
            s
        }
        12 => {
            let digits = around(rng, 4300);
            format!("x = 1{}\n", "0".repeat(digits))
        }
        _ => {
            let n = rng.usize(180..202);
            format!("x = {}a{}\n", "(a and ".repeat(n), ")".repeat(n))
        }
    }
}

fn pattern(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 {
        return pick(rng, &["1", "'s'", "None", "_", "x", "-1", "1+2j", "b'b'", "C.D"]).to_owned();
    }
    let d = depth - 1;
    match rng.usize(0..8) {
        0 => format!("[{}, *{}]", pattern(rng, d), pick(rng, &["rest", "_"])),
        1 => format!("({} | {})", pattern(rng, 0), pattern(rng, 0)),
        2 => format!("{{{}: {}, **rest}}", pick(rng, &["'k'", "1", "None"]), pattern(rng, d)),
        3 => format!("Point(x={}, y={})", pattern(rng, d), pattern(rng, d)),
        4 => format!("{} as {}", pattern(rng, d), pick(rng, &["v", "w"])),
        5 => format!("({},)", pattern(rng, d)),
        6 => format!("C({}, {})", pattern(rng, d), pattern(rng, d)),
        _ => pattern(rng, 0),
    }
}

fn matching(rng: &mut Rng) -> String {
    let mut s = format!("match {}:\n", expr(rng, 2));
    for _ in 0..rng.usize(1..4) {
        s.push_str(&format!(
            "    case {}{}:\n        {}\n",
            pattern(rng, 3),
            if rng.bool() { " if x" } else { "" },
            statement(rng, 1)
        ));
    }
    s
}

fn pep695(rng: &mut Rng) -> String {
    match rng.usize(0..4) {
        0 => format!("type {}[T, *Ts, **P] = {}\n", name(rng), expr(rng, 2)),
        1 => format!("def {}[T: int, U: (str, bytes)](a: T) -> U:\n    return {}\n", name(rng), expr(rng, 2)),
        2 => format!(
            "class {}[T](Base[T], metaclass=M):\n    x: T\n    def m[S](self, s: S) -> T | S: return {}\n",
            name(rng),
            expr(rng, 1)
        ),
        _ => "class C:\n    type A = list[C]\n    def f[T](self): return lambda: T\n".to_owned(),
    }
}

fn asyncs(rng: &mut Rng) -> String {
    match rng.usize(0..4) {
        0 => format!(
            "async def {}(a):\n    async for x in a:\n        await {}\n    async with a as b, c:\n        return [y async for y in b]\n",
            name(rng),
            expr(rng, 2)
        ),
        1 => format!("async def g():\n    yield {}\n    x = await (await a)\n", expr(rng, 2)),
        2 => format!("def h():\n    await {}\n", expr(rng, 1)),
        _ => format!("x = [await y for y in {}]\n", expr(rng, 1)),
    }
}

fn constants(rng: &mut Rng) -> String {
    match rng.usize(0..6) {
        0 => format!("x = {}\n", rng.u64(..)),
        1 => format!("x = ({})\n", (0..rng.usize(0..40)).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")),
        2 => format!("x = '{}'\n", "ab".repeat(rng.usize(0..3000))),
        3 => format!("x = 2 ** {} * 'a' * 3\n", rng.usize(0..70)),
        4 => format!("x = {} in {{1, 2, {}}}\n", name(rng), atom(rng)),
        _ => format!("x = -{} ** 2, ~{}, 10 ** {}\n", rng.u32(0..50), rng.u32(0..9), rng.u32(0..200)),
    }
}

fn whitespace(rng: &mut Rng) -> String {
    pick(
        rng,
        &[
            "if 1:\n\tx = 1\n        y = 2\n",
            "if 1:\n        x = 1\n\ty = 2\n",
            "if 1:\n\tif 2:\n\t\tx = 1\n\ty = 2\n",
            "if 1:\n \tx = 1\n \ty = 2\n",
            "\x0cx = 1\n",
            "x = [1,\n\t2,\n        3]\n",
            "x = 1 + \\\n    2\n",
            "if 1:\n    x = 1\n  # comment\n    y = 2\n",
            "def f():\n\tpass\n\n\n  \n",
            "x = 1;  y = 2;\n",
        ],
    )
    .to_owned()
}

fn statement(rng: &mut Rng, depth: usize) -> String {
    match rng.usize(0..14) {
        0 => format!("{} = {}", name(rng), expr(rng, 3)),
        1 => format!("{}, *{} = {}", name(rng), name(rng), expr(rng, 2)),
        2 => format!("{} += {}", name(rng), expr(rng, 2)),
        3 => format!("assert {}, {}", expr(rng, 2), expr(rng, 1)),
        4 => format!("del {}", name(rng)),
        5 => "pass".to_owned(),
        6 => format!("return {}", expr(rng, 2)),
        7 => format!("global {}", name(rng)),
        8 => format!("import a.b as {}", name(rng)),
        9 => format!("from . import ({},)", name(rng)),
        10 => format!("raise {} from {}", expr(rng, 1), expr(rng, 1)),
        11 if depth > 0 => "break".to_owned(),
        12 => format!("{}: {} = {}", name(rng), expr(rng, 1), expr(rng, 1)),
        _ => expr(rng, 3),
    }
}

fn statements(rng: &mut Rng) -> String {
    match rng.usize(0..7) {
        0 => format!(
            "try:\n    {}\nexcept* {} as e:\n    {}\nfinally:\n    {}\n",
            statement(rng, 0),
            name(rng),
            statement(rng, 0),
            statement(rng, 0)
        ),
        1 => format!(
            "for {} in {}:\n    {}\nelse:\n    {}\n",
            name(rng),
            expr(rng, 2),
            statement(rng, 1),
            statement(rng, 0)
        ),
        2 => format!("while {}:\n    {}\n    continue\n", expr(rng, 2), statement(rng, 1)),
        3 => format!("with {} as {}, {}:\n    {}\n", expr(rng, 1), name(rng), expr(rng, 1), statement(rng, 0)),
        4 => format!(
            "try:\n    {}\nexcept {}:\n    {}\nelse:\n    {}\n",
            statement(rng, 0),
            expr(rng, 1),
            statement(rng, 0),
            statement(rng, 0)
        ),
        5 => format!(
            "if {}:\n    {}\nelif {}:\n    {}\nelse:\n    {}\n",
            expr(rng, 2),
            statement(rng, 0),
            expr(rng, 2),
            statement(rng, 0),
            statement(rng, 0)
        ),
        _ => format!("{}\n", statement(rng, 0)),
    }
}

fn functions(rng: &mut Rng) -> String {
    match rng.usize(0..4) {
        0 => format!(
            "@{}\ndef {}({}, /, b={}, *args, c, d={}, **kw) -> {}:\n    '''doc'''\n    {}\n    {}\n",
            expr(rng, 1),
            name(rng),
            name(rng),
            expr(rng, 1),
            expr(rng, 1),
            expr(rng, 1),
            statement(rng, 1),
            statement(rng, 1)
        ),
        1 => format!(
            "def outer():\n    {} = 1\n    def inner():\n        nonlocal {}\n        return {}\n    return inner\n",
            name(rng),
            name(rng),
            expr(rng, 2)
        ),
        2 => format!(
            "class {}({}, metaclass=M):\n    {}\n    def m(self):\n        return super().m() + __class__\n",
            name(rng),
            expr(rng, 1),
            statement(rng, 0)
        ),
        _ => format!("def g():\n    yield from {}\n    return {}\n", expr(rng, 2), expr(rng, 1)),
    }
}

/// A character deleted, doubled or replaced: mostly invalid programs.
fn damage(rng: &mut Rng, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return text.to_owned();
    }
    let at = rng.usize(0..chars.len());
    let mut out: Vec<char> = chars.clone();
    match rng.usize(0..3) {
        0 => {
            out.remove(at);
        }
        1 => out.insert(at, chars[at]),
        _ => {
            out[at] =
                pick(rng, &["(", ")", ":", "\t", " ", "'", "\\", "{", "}", "=", "\n", "#"]).chars().next().unwrap()
        }
    }
    out.into_iter().collect()
}
