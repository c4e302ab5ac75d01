//! Streams shared by the unit tests of several files.

/// Streams covering every type code, each readable by the version given.
pub(crate) fn samples() -> Vec<((u8, u8), Vec<u8>)> {
    let mut code27 = vec![b'c'];
    for v in [0i32, 0, 1, 64] {
        code27.extend_from_slice(&v.to_le_bytes());
    }
    code27.extend_from_slice(b"s\x04\x00\x00\x00d\x00\x00S(\x01\x00\x00\x00N");
    code27.extend_from_slice(b"(\x00\x00\x00\x00(\x00\x00\x00\x00(\x00\x00\x00\x00(\x00\x00\x00\x00");
    code27.extend_from_slice(b"t\x04\x00\x00\x00f.pyR\x00\x00\x00\x00\x01\x00\x00\x00s\x00\x00\x00\x00");
    let mut code38 = vec![b'\xe3'];
    for v in [1i32, 1, 0, 1, 2, 67] {
        code38.extend_from_slice(&v.to_le_bytes());
    }
    code38.extend_from_slice(b"s\x00\x00\x00\x00)\x01N)\x00)\x01\xda\x01a)\x00)\x00z\x04f.pyZ\x01f");
    code38.extend_from_slice(b"\x03\x00\x00\x00s\x00\x00\x00\x00");
    let mut code30 = vec![b'c'];
    for v in [0i32; 5] {
        code30.extend_from_slice(&v.to_le_bytes());
    }
    code30.extend_from_slice(b"s\x00\x00\x00\x00");
    code30.extend_from_slice(b"(\x00\x00\x00\x00".repeat(5).as_slice());
    code30.extend_from_slice(b"u\x01\x00\x00\x00fu\x01\x00\x00\x00g\x00\x00\x00\x00s\x00\x00\x00\x00");
    vec![
        ((3, 13), b"N".to_vec()),
        ((3, 13), b"\xce".to_vec()),
        ((3, 13), b")\x05TFS.N".to_vec()),
        ((3, 13), b"\xe9\x07\x00\x00\x00".to_vec()),
        ((2, 7), b"I\x00\x00\x00\x00\x01\x00\x00\x00".to_vec()),
        ((3, 13), b"l\xfe\xff\xff\xff\x00\x00\x01\x00".to_vec()),
        ((3, 13), b"l\x00\x00\x00\x00".to_vec()),
        ((2, 7), b"f\x041.5\x00".to_vec()),
        ((3, 13), b"g\x01\x00\x00\x00\x00\x00\xf8\x7f".to_vec()),
        ((3, 13), b"x\x011\x02-2".to_vec()),
        ((3, 13), b"y\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x80".to_vec()),
        ((3, 13), b"s\x02\x00\x00\x00hi".to_vec()),
        ((3, 13), b"(\x04\x00\x00\x00u\x01\x00\x00\x00xt\x01\x00\x00\x00ya\x01\x00\x00\x00zA\x00\x00\x00\x00".to_vec()),
        ((3, 13), b")\x03z\x01\xe9\xda\x02abr\x00\x00\x00\x00".to_vec()),
        ((3, 13), b"[\x01\x00\x00\x00{i\x01\x00\x00\x00N\xb0".to_vec()),
        ((3, 13), b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00".to_vec()),
        ((3, 13), b"<\x01\x00\x00\x00N".to_vec()),
        ((3, 13), b">\x02\x00\x00\x00NT".to_vec()),
        ((3, 14), b":Ni\x02\x00\x00\x00N".to_vec()),
        ((3, 15), b"}z\x01ai\x01\x00\x00\x000".to_vec()),
        ((2, 7), code27),
        ((3, 2), code30),
        ((3, 9), code38),
    ]
}
