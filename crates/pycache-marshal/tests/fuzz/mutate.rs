//! Mutations: one aimed at the structure of the seed (a size field, a type
//! byte, a reference, a code object field, nesting, a splice), then a few
//! blind ones (bit flips, inserted and deleted bytes, truncation).

use pycache_marshal::{FLAG_REF, MAX_DEPTH};
use pycache_pyc::{Magic, PyVersion};

use crate::rng::Rng;
use crate::scan::{Span, Width};
use crate::seeds::Seed;

/// Every type code some version reads, and a few no version does.
const TYPE_CODES: &[u8] = b"0NTFS.iIfgxylsuRtazAZr()[{}<>:c?\x00\x7f";

/// Values that sit on the edges of what sizes and counts may be.
const EDGE_I32: &[i32] = &[0, 1, 2, 3, 255, 256, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, -1, -2, i32::MIN, 1 << 20];

/// Which mutation was applied, for the failure report.
pub type Trail = Vec<String>;

fn write_i32(bytes: &mut [u8], at: usize, value: i32) {
    if let Some(slot) = bytes.get_mut(at..at + 4) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

fn read_i32(bytes: &[u8], at: usize) -> i32 {
    bytes.get(at..at + 4).map_or(0, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A new value for a size, count or index field that held `old`, with
/// `left` bytes after it.
fn edge_value(rng: &mut Rng, old: i32, left: usize) -> i32 {
    let left = i32::try_from(left).unwrap_or(i32::MAX);
    match rng.below(6) {
        0 => *rng.pick(EDGE_I32),
        1 => old.wrapping_add(1),
        2 => old.wrapping_sub(1),
        3 => left.wrapping_add(rng.below(3) as i32 - 1),
        4 => old.wrapping_mul(2).wrapping_add(rng.below(7) as i32),
        _ => rng.next() as i32,
    }
}

/// Applies one structure-aware mutation to `bytes` (a copy of `seed`);
/// `others` are seeds of the same version to splice from.
fn structural(rng: &mut Rng, seed: &Seed, bytes: &mut Vec<u8>, others: &[&Seed], trail: &mut Trail) {
    let spans = &seed.layout.spans;
    let base = seed.body;
    if spans.is_empty() {
        return;
    }
    let pick_span = |rng: &mut Rng, filter: &dyn Fn(&Span) -> bool| -> Option<usize> {
        let candidates: Vec<usize> = (0..spans.len()).filter(|&i| filter(&spans[i])).collect();
        (!candidates.is_empty()).then(|| *rng.pick(&candidates))
    };
    match rng.below(12) {
        // A size, count or index field set to an edge value.
        0 | 1 => {
            let Some(i) = pick_span(rng, &|s| s.field.is_some()) else { return };
            let (at, width) = spans[i].field.expect("filtered");
            let at = base + at;
            match width {
                Width::One => {
                    let value = match rng.below(4) {
                        0 => 0,
                        1 => 255,
                        2 => bytes[at].wrapping_add(1),
                        _ => rng.byte(),
                    };
                    trail.push(format!("size byte at {at}: {} -> {value}", bytes[at]));
                    bytes[at] = value;
                }
                Width::Four => {
                    let old = read_i32(bytes, at);
                    let value = edge_value(rng, old, bytes.len() - at - 4);
                    trail.push(format!("size at {at}: {old} -> {value}"));
                    write_i32(bytes, at, value);
                    // A huge size is best tested with nothing after it.
                    if rng.chance(20) {
                        bytes.truncate(at + 4);
                        trail.push(format!("cut at {}", at + 4));
                    }
                }
            }
        }
        // Another type code, FLAG_REF kept or not.
        2 => {
            let i = rng.below(spans.len());
            let at = base + spans[i].start;
            let flag = if rng.chance(50) { bytes[at] & FLAG_REF } else { FLAG_REF * (rng.below(2) as u8) };
            let value = rng.pick(TYPE_CODES) | flag;
            trail.push(format!("type at {at}: {:#04x} -> {value:#04x}", bytes[at]));
            bytes[at] = value;
        }
        // FLAG_REF toggled: every later reference shifts by one.
        3 => {
            let i = rng.below(spans.len());
            let at = base + spans[i].start;
            trail.push(format!("FLAG_REF toggled at {at}"));
            bytes[at] ^= FLAG_REF;
        }
        // A reference pointed elsewhere: at an object not registered yet,
        // at one still being read, or out of range.
        4 => {
            let Some(i) = pick_span(rng, &|s| s.code == b'r' || s.code == b'R') else { return };
            let (at, _) = spans[i].field.expect("references have an index");
            let before = spans[i].refs_before as i32;
            let value = match rng.below(5) {
                0 => before,
                1 => before + 1,
                2 => rng.below(before.max(1) as usize) as i32,
                3 => *rng.pick(&[-1, i32::MIN, i32::MAX, 0x7fff_fffe]),
                _ => before - 1 - rng.below(3) as i32,
            };
            trail.push(format!("reference at {}: {} -> {value}", base + at, read_i32(bytes, base + at)));
            write_i32(bytes, base + at, value);
        }
        // An object replaced by a reference to an earlier flagged one:
        // sharing where there was none (the way to reference bombs).
        5 => {
            let Some(i) = pick_span(rng, &|s| s.refs_before > 0 && s.parent.is_some()) else { return };
            let span = &spans[i];
            let index = rng.below(span.refs_before + 1) as i32;
            let mut with = vec![b'r'];
            with.extend_from_slice(&index.to_le_bytes());
            trail.push(format!("object at {} replaced by r {index}", base + span.start));
            bytes.splice(base + span.start..base + span.end, with);
        }
        // An object replaced by another, from this seed or one of the same
        // version.
        6 | 7 => {
            let i = rng.below(spans.len());
            let donor = if others.is_empty() || rng.chance(50) { seed } else { *rng.pick(others) };
            let j = rng.below(donor.layout.spans.len());
            let d = &donor.layout.spans[j];
            let piece = donor.bytes[donor.body + d.start..donor.body + d.end].to_vec();
            trail.push(format!(
                "object at {} replaced by {} bytes from {} at {}",
                base + spans[i].start,
                piece.len(),
                donor.name,
                donor.body + d.start
            ));
            bytes.splice(base + spans[i].start..base + spans[i].end, piece);
        }
        // An item of a counted container repeated, its count raised.
        8 => {
            let Some(i) = pick_span(rng, &|s| {
                s.parent.is_some_and(|p| matches!(spans[p].code, b'(' | b')' | b'[' | b'<' | b'>'))
            }) else {
                return;
            };
            let span = &spans[i];
            let parent = &spans[span.parent.expect("filtered")];
            let (count_at, width) = parent.field.expect("containers have a count");
            let piece = bytes[base + span.start..base + span.end].to_vec();
            // Many copies of small items only: inputs of megabytes would
            // slow the run without reaching anything new.
            let most = (64 << 10) / piece.len().max(1);
            let times = if rng.chance(80) { 1 } else { 1 + rng.below(300.min(most)) };
            let at = base + span.end;
            bytes.splice(at..at, piece.iter().copied().cycle().take(piece.len() * times));
            let count_at = base + count_at;
            match width {
                Width::One => bytes[count_at] = bytes[count_at].wrapping_add(times as u8),
                Width::Four => {
                    let old = read_i32(bytes, count_at);
                    write_i32(bytes, count_at, old.wrapping_add(times as i32));
                }
            }
            trail.push(format!("item at {} repeated {times} times", base + span.start));
        }
        // An object wrapped in many levels of one container, up to and
        // past the depth limit.
        9 => {
            let i = rng.below(spans.len());
            let span = &spans[i];
            let room = MAX_DEPTH.saturating_sub(span.depth);
            let levels = *rng.pick(&[1, 7, 100, room.saturating_sub(1), room, room + 1, 3 * MAX_DEPTH]);
            let (open, close): (&[u8], &[u8]) = match rng.below(5) {
                0 => (b")\x01", b""),
                1 => (b"(\x01\x00\x00\x00", b""),
                2 => (b"[\x01\x00\x00\x00", b""),
                3 => (b"{N", b"0"),
                _ => (b">\x01\x00\x00\x00", b""),
            };
            let mut wrapped = open.repeat(levels);
            wrapped.extend_from_slice(&bytes[base + span.start..base + span.end]);
            wrapped.extend(close.repeat(levels));
            trail.push(format!("object at {} wrapped {levels} times in {:?}", base + span.start, open[0] as char));
            bytes.splice(base + span.start..base + span.end, wrapped);
        }
        // A code object's int field (counts, flags, first line).
        10 => {
            if seed.layout.code_ints.is_empty() {
                return;
            }
            let (at, name) = *rng.pick(&seed.layout.code_ints);
            let old = read_i32(bytes, base + at);
            let value = match rng.below(3) {
                0 => *rng.pick(&[-1, 0, 1, i32::MIN, i32::MAX, 0x7fff_0000]),
                1 => old ^ (1 << rng.below(32)),
                _ => rng.next() as i32,
            };
            trail.push(format!("{name} at {}: {old} -> {value}", base + at));
            write_i32(bytes, base + at, value);
        }
        // The contents of bytecode, line and exception tables scrambled,
        // their length kept: valid marshal, hostile tables.
        _ => {
            let Some(i) = pick_span(rng, &|s| {
                s.code == b's' && s.code_field.is_some_and(|f| f != "co_consts" && f != "co_names")
            }) else {
                return;
            };
            let span = &spans[i];
            let data = base + span.start + 5..base + span.end;
            if data.is_empty() {
                return;
            }
            let field = span.code_field.unwrap_or("?");
            if rng.chance(30) {
                // The longest number the line and exception tables can
                // spell (continuation bit 6 set), to reach their limits.
                let at = data.start + rng.below(data.len());
                let end = (at + 1 + rng.below(12)).min(data.end);
                let filler = *rng.pick(&[0x7f, 0x40, 0xff, 0xc0]);
                bytes[at..end].fill(filler);
                trail.push(format!("{} bytes of {filler:#04x} in {field} at {at}", end - at));
                return;
            }
            let changes = 1 + rng.below(8);
            for _ in 0..changes {
                let at = data.start + rng.below(data.len());
                bytes[at] = if rng.chance(50) { rng.byte() } else { *rng.pick(&[0, 1, 0x7f, 0x80, 0xff, 0x90]) };
            }
            trail.push(format!("{changes} bytes changed in {field} at {}", data.start));
        }
    }
}

/// A header for another version's magic, with or without the flags and
/// hash bits: bodies read as what they are not.
fn header(rng: &mut Rng, seed: &Seed, bytes: &mut [u8], trail: &mut Trail) {
    if !seed.is_pyc() || bytes.len() < 8 {
        return;
    }
    match rng.below(3) {
        0 => {
            let minor = rng.below(16) as u8;
            let version = if rng.chance(10) { PyVersion::new(2, 7) } else { PyVersion::new(3, minor) };
            if let Some(magic) = Magic::for_version(version) {
                trail.push(format!("magic of {version}"));
                bytes[..4].copy_from_slice(&magic.to_bytes());
            }
        }
        1 => {
            let flags = rng.below(8) as u8;
            trail.push(format!("header flags {flags}"));
            bytes[4] = flags;
        }
        _ => {
            // A magic between the releases (alphas, unknown numbers).
            let number = u16::from_le_bytes([bytes[0], bytes[1]]).wrapping_add(rng.below(40) as u16).wrapping_sub(20);
            trail.push(format!("magic number {number}"));
            bytes[..2].copy_from_slice(&number.to_le_bytes());
        }
    }
}

/// Blind byte-level damage anywhere.
fn blind(rng: &mut Rng, bytes: &mut Vec<u8>, trail: &mut Trail) {
    if bytes.is_empty() {
        bytes.push(rng.byte());
        return;
    }
    let at = rng.below(bytes.len());
    match rng.below(7) {
        0 => {
            let bit = rng.below(8);
            bytes[at] ^= 1 << bit;
            trail.push(format!("bit {bit} flipped at {at}"));
        }
        1 => {
            let value = if rng.chance(50) { *rng.pick(TYPE_CODES) } else { rng.byte() };
            bytes[at] = value;
            trail.push(format!("byte at {at} set to {value:#04x}"));
        }
        2 => {
            let n = 1 + rng.below(8);
            let new: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            bytes.splice(at..at, new);
            trail.push(format!("{n} bytes inserted at {at}"));
        }
        3 => {
            let n = (1 + rng.below(8)).min(bytes.len() - at);
            bytes.drain(at..at + n);
            trail.push(format!("{n} bytes deleted at {at}"));
        }
        4 => {
            bytes.truncate(at);
            trail.push(format!("cut at {at}"));
        }
        5 => {
            let value = *rng.pick(EDGE_I32);
            let at = at.min(bytes.len().saturating_sub(4));
            write_i32(bytes, at, value);
            trail.push(format!("i32 {value} written at {at}"));
        }
        _ => {
            let n = (1 + rng.below(64)).min(bytes.len() - at);
            let piece = bytes[at..at + n].to_vec();
            let to = rng.below(bytes.len());
            bytes.splice(to..to, piece);
            trail.push(format!("{n} bytes from {at} copied to {to}"));
        }
    }
}

/// A mutant of `seed`: usually one structural mutation, sometimes a header
/// change, then up to three blind ones.
pub fn mutate(rng: &mut Rng, seed: &Seed, others: &[&Seed]) -> (Vec<u8>, Trail) {
    let mut bytes = seed.bytes.clone();
    let mut trail = Trail::new();
    if rng.chance(85) {
        structural(rng, seed, &mut bytes, others, &mut trail);
    }
    if rng.chance(10) {
        header(rng, seed, &mut bytes, &mut trail);
    }
    let blind_count = match rng.below(10) {
        0..=4 => 0,
        5..=7 => 1,
        8 => 2,
        _ => 3,
    };
    for _ in 0..blind_count {
        blind(rng, &mut bytes, &mut trail);
    }
    (bytes, trail)
}
