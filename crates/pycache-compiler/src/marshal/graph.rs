//! The objects CPython 3.12 would hold once `compile()` returns, rebuilt
//! from the values of a code-object tree: which occurrences are one object,
//! which objects are interned, and how many references each has.
//!
//! See the module documentation of [`crate::marshal`] for the rules and why
//! they hold.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use num_bigint::BigInt;
use num_traits::{FromPrimitive, ToPrimitive};

use crate::code::{CodeObject, Constant, PyStr};
use crate::ops::Op;
use crate::target::{Feature, Target};

use super::ProcessStrings;

pub(crate) type NodeId = usize;

/// One object of the rebuilt graph.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    pub value: NodeValue<'a>,
    /// `PyUnicode_CHECK_INTERNED`: written as `Z`/`A`/`t`, and always
    /// flagged.
    pub interned: bool,
    /// Held by something outside the tree (immortal and static objects,
    /// the caller's file name, the code object's own cache of `co_code`,
    /// the caller's reference to the module): always flagged.
    pub pinned: bool,
    /// References from containers in the tree (tuple and frozenset items,
    /// code object fields), each container counted once however many times
    /// it occurs.
    pub refs: u32,
}

#[derive(Debug)]
pub(crate) enum NodeValue<'a> {
    None,
    Bool(bool),
    Ellipsis,
    Int(&'a BigInt),
    Float(f64),
    Complex(f64, f64),
    Str(&'a PyStr),
    Bytes(&'a [u8]),
    Tuple(Vec<NodeId>),
    /// Items deduplicated as a Python set would keep them, unsorted.
    FrozenSet(Vec<NodeId>),
    /// Start, stop and step.
    Slice([NodeId; 3]),
    Code(Box<CodeNode<'a>>),
}

#[derive(Debug)]
pub(crate) struct CodeNode<'a> {
    pub code: &'a CodeObject,
    pub co_code: NodeId,
    pub consts: NodeId,
    pub names: NodeId,
    pub localsplusnames: NodeId,
    pub localspluskinds: NodeId,
    pub filename: NodeId,
    pub name: NodeId,
    pub qualname: NodeId,
    pub linetable: NodeId,
    pub exceptiontable: NodeId,
}

/// A value class of CPython's constant cache (`_PyCode_ConstantKey`): equal
/// keys are merged into one object for the whole compilation. Strings are
/// compared by value whether or not they are interned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key<'a> {
    None,
    Ellipsis,
    Bool(bool),
    Int(&'a BigInt),
    Float(u64),
    Complex(u64, u64),
    Str(&'a [u8]),
    Bytes(&'a [u8]),
    Tuple(Vec<KeyId>),
    /// Sorted, deduplicated item keys: frozensets compare as sets.
    FrozenSet(Vec<KeyId>),
    /// The keys of start, stop and step.
    Slice([KeyId; 3]),
    /// Code objects are never equal to each other here: their line tables
    /// differ. NaNs are unequal to everything but themselves, and each NaN
    /// constant of a compilation is an object of its own.
    Unique(usize),
}

type KeyId = usize;

/// Names that CPython gives code objects from its static strings: immortal,
/// and not interned.
const STATIC_NAMES: &[&str] = &["<module>", "<lambda>", "<genexpr>", "<listcomp>", "<setcomp>", "<dictcomp>"];

pub(crate) struct Graph<'a> {
    pub nodes: Vec<Node<'a>>,
    pub root: NodeId,
}

impl<'a> Graph<'a> {
    pub fn build(root: &'a CodeObject, target: Target) -> Self {
        let mut builder = Builder::new(root, target);
        let root_id = builder.code(root);
        // Until 3.14 py_compile's caller holds another reference to the
        // code object it writes, so marshal flags it; 3.15's does not.
        builder.nodes[root_id].pinned = !target.has(Feature::RootCodeUnflagged);
        let mut nodes = builder.nodes;
        let mut counts = vec![0u32; nodes.len()];
        for node in &nodes {
            for_each_child(&node.value, |child| counts[child] += 1);
        }
        for (node, count) in nodes.iter_mut().zip(counts) {
            node.refs = count;
        }
        Self { nodes, root: root_id }
    }

    pub fn node(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[id]
    }
}

/// Calls `f` with each object a node refers to, in marshal order (without
/// collecting them: this runs once per node of every compilation).
pub(crate) fn for_each_child(value: &NodeValue<'_>, f: impl FnMut(NodeId)) {
    match value {
        NodeValue::Tuple(items) | NodeValue::FrozenSet(items) => items.iter().copied().for_each(f),
        NodeValue::Slice(parts) => parts.iter().copied().for_each(f),
        NodeValue::Code(c) => [
            c.co_code,
            c.consts,
            c.names,
            c.localsplusnames,
            c.localspluskinds,
            c.filename,
            c.name,
            c.qualname,
            c.linetable,
            c.exceptiontable,
        ]
        .into_iter()
        .for_each(f),
        _ => {}
    }
}

/// `all_name_chars` of codeobject.c: ASCII letters, digits and `_` only
/// (the empty string included). Such string constants are interned.
pub(crate) fn all_name_chars(text: &PyStr) -> bool {
    text.as_bytes().iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Constants of `code` that the compiler made from identifiers rather than
/// literals: the keyword-name tuples of calls (`KW_NAMES` in 3.12, the
/// constant loaded just before `CALL_KW` from 3.13), the from-lists of
/// imports (the constant loaded just before `IMPORT_NAME`), and the names of
/// classes (loaded right after their body's code object).
/// Indexed by constant (a vector: this runs once per code object).
fn identifier_constants(code: &CodeObject, ops: &Opcodes) -> Vec<bool> {
    let mut found = vec![false; code.consts.len()];
    let mut mark = |index: usize| {
        if let Some(slot) = found.get_mut(index) {
            *slot = true;
        }
    };
    let mut extended: u32 = 0;
    let mut loaded_const = None;
    // One table load per unit, and most units are done after it: this loop
    // reads every code unit of the compilation.
    for &[op, oparg] in code.code.as_chunks::<2>().0 {
        let class = ops.class[usize::from(op)];
        if class == OpClass::Other {
            extended = 0;
            loaded_const = None;
            continue;
        }
        let arg = (extended << 8) | u32::from(oparg);
        match class {
            OpClass::Cache => continue,
            OpClass::ExtendedArg => {
                extended = arg;
                continue;
            }
            OpClass::KwNames => mark(arg as usize),
            OpClass::TakesNames => loaded_const.into_iter().for_each(&mut mark),
            OpClass::LoadConst | OpClass::Other => {}
        }
        extended = 0;
        loaded_const = (class == OpClass::LoadConst).then_some(arg as usize);
    }
    for (index, constant) in code.consts.iter().enumerate() {
        if let (Constant::Code(body), Some(Constant::Str(name))) = (constant, code.consts.get(index + 1))
            && is_class_body(body)
            && *name == body.name
        {
            mark(index + 1);
        }
    }
    found
}

/// What the marshal stage reads in bytecode, by opcode byte in the
/// target's numbering (an opcode the version lacks is nowhere).
struct Opcodes {
    class: [OpClass; 256],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpClass {
    Other,
    Cache,
    ExtendedArg,
    /// 3.12's `KW_NAMES`: its argument is the keyword-name constant.
    KwNames,
    /// `IMPORT_NAME` and 3.13's `CALL_KW`: the constant loaded just before
    /// holds identifiers.
    TakesNames,
    LoadConst,
}

impl Opcodes {
    fn of(target: Target) -> Self {
        let ops = target.ops();
        let mut class = [OpClass::Other; 256];
        for (op, kind) in [
            (Op::CACHE, OpClass::Cache),
            (Op::EXTENDED_ARG, OpClass::ExtendedArg),
            (Op::KW_NAMES, OpClass::KwNames),
            (Op::IMPORT_NAME, OpClass::TakesNames),
            (Op::CALL_KW, OpClass::TakesNames),
            (Op::LOAD_CONST, OpClass::LoadConst),
        ] {
            if let Some(byte) = ops.byte(op) {
                class[usize::from(byte)] = kind;
            }
        }
        Self { class }
    }
}

/// A class body: not a function (no CO_OPTIMIZED), and its first constant
/// is its qualified name (`__qualname__`).
fn is_class_body(code: &CodeObject) -> bool {
    const CO_OPTIMIZED: u32 = 0x1;
    code.flags & CO_OPTIMIZED == 0
        && code.name.as_bytes().first() != Some(&b'<')
        && matches!(code.consts.first(), Some(Constant::Str(text)) if *text == code.qualname)
}

/// The empty string and one-character Latin-1 strings are static singletons.
fn is_singleton_str(text: &PyStr) -> bool {
    // One code point below 256: one ASCII byte, or two bytes led by 0xC2 or
    // 0xC3 (U+0080 to U+00FF).
    match text.as_bytes() {
        [] => true,
        [b] => b.is_ascii(),
        [lead, _] => matches!(lead, 0xC2 | 0xC3),
        _ => false,
    }
}

/// How much a compilation holds, counted before the graph is built so
/// that its tables are made at their size once: growing them rehashed
/// every key several times over (a tenth of the marshal stage).
/// Upper bounds; duplicates are counted each time.
struct Size {
    codes: usize,
    /// Constants, items of constant tuples and frozensets included.
    consts: usize,
    /// String constants among them.
    strs: usize,
    /// Names and local names of every code object.
    names: usize,
}

impl Size {
    fn of(root: &CodeObject) -> Self {
        let mut size = Size { codes: 0, consts: 0, strs: 0, names: 0 };
        let mut codes = vec![root];
        let mut consts: Vec<&Constant> = Vec::new();
        while let Some(code) = codes.pop() {
            size.codes += 1;
            size.names += code.names.len() + code.localsplusnames.len();
            consts.extend(&code.consts);
            while let Some(constant) = consts.pop() {
                size.consts += 1;
                match constant {
                    Constant::Str(_) => size.strs += 1,
                    Constant::Code(inner) => codes.push(inner),
                    Constant::Tuple(items) | Constant::FrozenSet(items) => consts.extend(items),
                    Constant::Slice(parts) => consts.extend(parts.iter()),
                    _ => {}
                }
            }
        }
        size
    }

    /// Keys of the constant cache: constants, names, and per code object
    /// its tuples and tables.
    fn keys(&self) -> usize {
        self.consts + self.names + 4 * self.codes
    }

    /// Objects: about one per key, and per code object its bytecode,
    /// kinds, names and itself.
    fn nodes(&self) -> usize {
        self.keys() + 6 * self.codes
    }
}

fn sized<K, V>(capacity: usize) -> HashMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, Default::default())
}

struct Builder<'a> {
    nodes: Vec<Node<'a>>,
    keys: HashMap<Key<'a>, KeyId>,
    /// Objects of the constant cache (everything but strings), by key.
    cached: HashMap<KeyId, NodeId>,
    interned: HashMap<&'a [u8], NodeId>,
    /// Strings of the constant cache that stay uninterned.
    const_strs: HashMap<&'a [u8], NodeId>,
    singleton_strs: HashMap<&'a [u8], NodeId>,
    statics: HashMap<&'a [u8], NodeId>,
    filenames: HashMap<&'a [u8], NodeId>,
    small_ints: HashMap<i64, NodeId>,
    singleton_bytes: HashMap<&'a [u8], NodeId>,
    none: NodeId,
    true_: NodeId,
    false_: NodeId,
    ellipsis: NodeId,
    empty_tuple: NodeId,
    /// Keys of tuples that serve as `co_names` or `co_localsplusnames`:
    /// their items are interned whichever use created the tuple.
    name_tuples: HashSet<KeyId>,
    /// The key of each code object's `co_names` or `co_localsplusnames`, by
    /// the address of its slice and whether the first name is renamed:
    /// worked out once, though three passes ask.
    name_keys: HashMap<(usize, bool), KeyId>,
    /// One-character strings the compilation interns as names, beyond the
    /// ones a fresh process has interned already.
    interned_chars: HashSet<&'a [u8]>,
    /// Class bodies whose qualified name is the first constant with that
    /// text: the constant cache keeps their `co_qualname` object for every
    /// later equal constant.
    qualname_owners: HashMap<&'a [u8], &'a CodeObject>,
    /// Every name of the compilation (identifiers the parser interned).
    identifiers: HashSet<&'a [u8]>,
    /// The text of every string constant, and whether the first constant
    /// with that text the compiler cached was an identifier.
    first_seen: HashMap<&'a [u8], bool>,
    /// The first `'%'` the compiler cached was a `%%` fold's new string
    /// ([`CodeObject::fresh_percent`]): every `'%'` constant is that object,
    /// not the singleton.
    fresh_percent: bool,
    /// The target's opcode numbers and fresh-process strings.
    opcodes: Opcodes,
    strings: &'static ProcessStrings,
    target: Target,
    /// The small-int cache's top (`Limits::small_int_max`).
    small_int_max: i64,
    /// How many keys the compilation may have ([`Size::keys`]).
    key_capacity: usize,
}

impl<'a> Builder<'a> {
    fn new(root: &'a CodeObject, target: Target) -> Self {
        let size = Size::of(root);
        let mut builder = Self {
            nodes: Vec::with_capacity(size.nodes()),
            keys: sized(size.keys()),
            cached: sized(size.keys()),
            interned: sized(size.names),
            const_strs: HashMap::default(),
            singleton_strs: HashMap::default(),
            statics: HashMap::default(),
            filenames: HashMap::default(),
            small_ints: HashMap::default(),
            singleton_bytes: HashMap::default(),
            none: 0,
            true_: 0,
            false_: 0,
            ellipsis: 0,
            empty_tuple: 0,
            name_tuples: HashSet::with_capacity_and_hasher(2 * size.codes, Default::default()),
            name_keys: sized(2 * size.codes),
            interned_chars: HashSet::default(),
            qualname_owners: HashMap::default(),
            identifiers: HashSet::with_capacity_and_hasher(size.names + size.codes, Default::default()),
            first_seen: sized(size.strs),
            fresh_percent: root.fresh_percent,
            opcodes: Opcodes::of(target),
            strings: target.profile().strings,
            target,
            small_int_max: target.limits().small_int_max,
            key_capacity: size.keys(),
        };
        builder.none = builder.push(NodeValue::None, false, true);
        builder.true_ = builder.push(NodeValue::Bool(true), false, true);
        builder.false_ = builder.push(NodeValue::Bool(false), false, true);
        builder.ellipsis = builder.push(NodeValue::Ellipsis, false, true);
        builder.empty_tuple = builder.push(NodeValue::Tuple(Vec::new()), false, true);
        builder.scan(root);
        builder.codegen_walk(root);
        builder
    }

    /// Replays, in the order of code generation, how the compiler fills
    /// its constant cache, to learn which object each string constant
    /// becomes: the first one cached with that text.
    ///
    /// A constant a code object loads is cached when its code is generated,
    /// with its items when it is new (a tuple or frozenset found in the cache
    /// already brings nothing in). A nested code object's constants are
    /// cached where the nested code object appears among its parent's
    /// constants (its body is compiled before the parent loads it); a class
    /// body's first constant is its `co_qualname`. When a code object is
    /// finished, its names, constants and local names are cached as tuples
    /// only, without their items.
    fn codegen_walk(&mut self, root: &'a CodeObject) {
        struct Frame<'a> {
            code: &'a CodeObject,
            next: usize,
            identifier_consts: Vec<bool>,
            /// The key of each constant visited so far: the key of the
            /// code object's `co_consts` at the end, without keying every
            /// constant again.
            keys: Vec<KeyId>,
        }
        let new_frame = |code: &'a CodeObject, opcodes: &Opcodes| Frame {
            code,
            next: 0,
            identifier_consts: identifier_constants(code, opcodes),
            keys: Vec::with_capacity(code.consts.len()),
        };
        let mut cached: HashSet<KeyId> = HashSet::with_capacity_and_hasher(self.key_capacity, Default::default());
        let mut stack = vec![new_frame(root, &self.opcodes)];
        while let Some(frame) = stack.last_mut() {
            let code = frame.code;
            let index = frame.next;
            frame.next += 1;
            if index == 0 && is_class_body(code) && !self.first_seen.contains_key(code.qualname.as_bytes()) {
                self.qualname_owners.insert(code.qualname.as_bytes(), code);
            }
            let Some(constant) = code.consts.get(index) else {
                for (i, names) in [&code.names, &code.localsplusnames].into_iter().enumerate() {
                    let key = self.names_key(names, i == 1 && code.renamed_locals);
                    cached.insert(key);
                }
                let consts = std::mem::take(&mut frame.keys);
                cached.insert(self.key(Key::Tuple(consts)));
                stack.pop();
                continue;
            };
            if let Constant::Code(inner) = constant {
                // Equal to no other constant.
                frame.keys.push(self.unique_key());
                stack.push(new_frame(inner, &self.opcodes));
                continue;
            }
            // Class names and keyword or import name tuples hold the
            // parser's interned identifiers, as does a top-level class's
            // qualified name.
            let identifier = frame.identifier_consts.get(index).copied().unwrap_or(false)
                || (index == 0 && is_class_body(code) && code.qualname == code.name)
                || matches!(constant, Constant::Str(text) if code.identifier_strs.contains(text));
            let key = self.cache_constant(constant, identifier, &code.identifier_strs, &mut cached);
            frame.keys.push(key);
        }
    }

    fn cache_constant(
        &mut self,
        constant: &'a Constant,
        identifier: bool,
        identifier_strs: &[PyStr],
        cached: &mut HashSet<KeyId>,
    ) -> KeyId {
        // A tuple's items are keyed once, for the tuple's key and for
        // caching them.
        let item_keys = match constant {
            Constant::Tuple(items) => items.iter().map(|item| self.key_of(item)).collect(),
            _ => Vec::new(),
        };
        let key = match constant {
            Constant::Tuple(_) => self.key(Key::Tuple(item_keys.clone())),
            _ => self.key_of(constant),
        };
        if !cached.insert(key) {
            return key;
        }
        match constant {
            Constant::Str(text) => {
                self.first_seen.entry(text.as_bytes()).or_insert(identifier);
            }
            Constant::Tuple(items) => {
                for (item, item_key) in items.iter().zip(item_keys) {
                    let identifier = match item {
                        Constant::Str(text) => identifier || identifier_strs.contains(text),
                        _ => false,
                    };
                    self.cache_keyed(item, item_key, identifier, identifier_strs, cached);
                }
            }
            Constant::FrozenSet(items) => {
                for item in dedup_set_items(items) {
                    self.cache_constant(item, false, identifier_strs, cached);
                }
            }
            _ => {}
        }
        key
    }

    /// [`Self::cache_constant`] for an item whose key is known: a
    /// scalar's key is all it needs, anything else is keyed again.
    fn cache_keyed(
        &mut self,
        constant: &'a Constant,
        key: KeyId,
        identifier: bool,
        identifier_strs: &[PyStr],
        cached: &mut HashSet<KeyId>,
    ) {
        match constant {
            Constant::Tuple(_) | Constant::FrozenSet(_) | Constant::Slice(_) => {
                self.cache_constant(constant, identifier, identifier_strs, cached);
            }
            _ => {
                if cached.insert(key)
                    && let Constant::Str(text) = constant
                {
                    self.first_seen.entry(text.as_bytes()).or_insert(identifier);
                }
            }
        }
    }

    /// The cache key of a constant (fresh for NaNs and code objects, which
    /// equal nothing else).
    fn key_of(&mut self, constant: &'a Constant) -> KeyId {
        match constant {
            Constant::None => self.key(Key::None),
            Constant::Ellipsis => self.key(Key::Ellipsis),
            Constant::Bool(b) => self.key(Key::Bool(*b)),
            Constant::Int(value) => self.key(Key::Int(value)),
            Constant::Float(f) if f.is_nan() => self.unique_key(),
            Constant::Float(f) => self.key(Key::Float(f.to_bits())),
            Constant::Complex { real, imag } if real.is_nan() || imag.is_nan() => self.unique_key(),
            Constant::Complex { real, imag } => self.key(Key::Complex(real.to_bits(), imag.to_bits())),
            Constant::Str(text) => self.key(Key::Str(text.as_bytes())),
            Constant::Bytes(data) => self.key(Key::Bytes(data)),
            Constant::Tuple(items) => {
                let items = items.iter().map(|item| self.key_of(item)).collect();
                self.key(Key::Tuple(items))
            }
            Constant::FrozenSet(items) => {
                let mut keys: Vec<KeyId> = dedup_set_items(items).into_iter().map(|item| self.key_of(item)).collect();
                keys.sort_unstable();
                keys.dedup();
                self.key(Key::FrozenSet(keys))
            }
            Constant::Slice(parts) => {
                let [start, stop, step] = &**parts;
                let keys = [self.key_of(start), self.key_of(stop), self.key_of(step)];
                self.key(Key::Slice(keys))
            }
            Constant::Code(_) => self.unique_key(),
        }
    }

    fn push(&mut self, value: NodeValue<'a>, interned: bool, pinned: bool) -> NodeId {
        self.nodes.push(Node { value, interned, pinned, refs: 0 });
        self.nodes.len() - 1
    }

    fn unique_key(&mut self) -> KeyId {
        let next = self.keys.len();
        self.key(Key::Unique(next))
    }

    /// The key of a tuple of names as the code object holds it (the first
    /// one `.format` when `renamed`).
    fn names_key(&mut self, names: &'a [PyStr], renamed: bool) -> KeyId {
        if let Some(&key) = self.name_keys.get(&(names.as_ptr() as usize, renamed)) {
            return key;
        }
        let items = names_as_made(names, renamed).map(|n| self.key(Key::Str(n))).collect();
        let key = self.key(Key::Tuple(items));
        self.name_keys.insert((names.as_ptr() as usize, renamed), key);
        key
    }

    fn key(&mut self, key: Key<'a>) -> KeyId {
        let next = self.keys.len();
        *self.keys.entry(key).or_insert(next)
    }

    /// What must be known before any object is made: which tuples are name
    /// tuples, and which one-character strings the compilation interns.
    fn scan(&mut self, root: &'a CodeObject) {
        let mut stack = vec![root];
        while let Some(code) = stack.pop() {
            for (i, names) in [&code.names, &code.localsplusnames].into_iter().enumerate() {
                if !names.is_empty() {
                    let key = self.names_key(names, i == 1 && code.renamed_locals);
                    self.name_tuples.insert(key);
                }
                for name in names {
                    self.identifiers.insert(name.as_bytes());
                    if is_singleton_str(name) {
                        self.interned_chars.insert(name.as_bytes());
                    }
                }
            }
            self.identifiers.insert(code.name.as_bytes());
            if is_singleton_str(&code.name) {
                self.interned_chars.insert(code.name.as_bytes());
            }
            let mut consts: Vec<&'a Constant> = code.consts.iter().collect();
            while let Some(constant) = consts.pop() {
                match constant {
                    Constant::Code(inner) => stack.push(inner),
                    Constant::Tuple(items) | Constant::FrozenSet(items) => consts.extend(items),
                    _ => {}
                }
            }
        }
    }

    fn code(&mut self, code: &'a CodeObject) -> NodeId {
        let consts = self.tuple_of_constants(&code.consts, false).1;
        let names = self.name_tuple(&code.names);
        let localsplusnames = if code.renamed_locals {
            let children = code.localsplusnames.iter().map(|n| self.interned_str(n)).collect();
            self.push(NodeValue::Tuple(children), false, false)
        } else {
            self.name_tuple(&code.localsplusnames)
        };
        let localspluskinds = if code.localspluskinds.is_empty() {
            self.bytes_singleton(&code.localspluskinds)
        } else {
            self.push(NodeValue::Bytes(&code.localspluskinds), false, false)
        };
        let co_code = self.push(NodeValue::Bytes(&code.code), false, true);
        let intern_names = self.target.has(Feature::InternCodeNames);
        let filename = match self.filenames.get(code.filename.as_bytes()) {
            Some(&id) => id,
            // 3.13's code object interns its file name.
            None if intern_names => {
                let id = self.interned_str(&code.filename);
                self.filenames.insert(code.filename.as_bytes(), id);
                id
            }
            None => {
                let id = self.push(NodeValue::Str(&code.filename), false, true);
                self.filenames.insert(code.filename.as_bytes(), id);
                id
            }
        };
        let name = self.code_name(&code.name);
        let owner = self.qualname_owners.get(code.qualname.as_bytes()).is_some_and(|&c| std::ptr::eq(c, code));
        let qualname = if code.qualname == code.name {
            name
        } else if owner {
            let id = self.const_str(&code.qualname, false);
            let text = code.qualname.as_str();
            // An earlier code object of this compilation interned the same
            // text as its own qualified name (`def _` before `class _` in
            // one scope).
            let earlier = self.interned.get(code.qualname.as_bytes()).is_some_and(|&twin| twin != id);
            if intern_names && (earlier || text.is_some_and(|t| self.strings.others.contains(t))) {
                // The process or the compilation interned an equal string
                // first: the code object holds that one, the constant
                // stays as it was.
                self.interned_str(&code.qualname)
            } else {
                if intern_names {
                    // The class body's constant is the very object interned.
                    self.intern_node(&code.qualname, id);
                }
                id
            }
        } else if intern_names {
            self.interned_str(&code.qualname)
        } else {
            self.push(NodeValue::Str(&code.qualname), false, false)
        };
        let linetable = self.assembled_bytes(&code.linetable);
        let exceptiontable = self.assembled_bytes(&code.exceptiontable);
        let node = CodeNode {
            code,
            co_code,
            consts,
            names,
            localsplusnames,
            localspluskinds,
            filename,
            name,
            qualname,
            linetable,
            exceptiontable,
        };
        self.push(NodeValue::Code(Box::new(node)), false, false)
    }

    fn code_name(&mut self, name: &'a PyStr) -> NodeId {
        let is_static = name.as_str().is_some_and(|n| STATIC_NAMES.contains(&n));
        let intern_names = self.target.has(Feature::InternCodeNames);
        if is_static {
            if let Some(&id) = self.statics.get(name.as_bytes()) {
                return id;
            }
            // 3.13 interns them with the code object's other names; in
            // 3.12.7 (not 3.12.1) the interpreter's start interned them.
            let interned = intern_names || self.target.has(Feature::StaticNamesInterned);
            let id = self.push(NodeValue::Str(name), interned, true);
            self.statics.insert(name.as_bytes(), id);
            if interned {
                self.interned.entry(name.as_bytes()).or_insert(id);
            }
            id
        } else if intern_names {
            self.interned_str(name)
        } else if name.as_bytes().first() == Some(&b'<') {
            // Made by formatting (`<generic parameters of f>`): a new object.
            self.push(NodeValue::Str(name), false, false)
        } else {
            // An identifier, interned by the parser.
            self.interned_str(name)
        }
    }

    /// Line and exception tables: merged through the constant cache like
    /// bytes constants.
    fn assembled_bytes(&mut self, data: &'a [u8]) -> NodeId {
        if data.is_empty() {
            return self.bytes_singleton(data);
        }
        let key = self.key(Key::Bytes(data));
        if let Some(&id) = self.cached.get(&key) {
            return id;
        }
        let id = self.push(NodeValue::Bytes(data), false, false);
        self.cached.insert(key, id);
        id
    }

    fn bytes_singleton(&mut self, data: &'a [u8]) -> NodeId {
        if let Some(&id) = self.singleton_bytes.get(data) {
            return id;
        }
        let id = self.push(NodeValue::Bytes(data), false, true);
        self.singleton_bytes.insert(data, id);
        id
    }

    fn name_tuple(&mut self, names: &'a [PyStr]) -> NodeId {
        if names.is_empty() {
            return self.empty_tuple;
        }
        let key = self.names_key(names, false);
        if let Some(&id) = self.cached.get(&key) {
            return id;
        }
        let children = names.iter().map(|n| self.interned_str(n)).collect();
        let id = self.push(NodeValue::Tuple(children), false, false);
        self.cached.insert(key, id);
        id
    }

    fn interned_str(&mut self, text: &'a PyStr) -> NodeId {
        if is_singleton_str(text) {
            return self.singleton_str(text);
        }
        if let Some(&id) = self.interned.get(text.as_bytes()) {
            return id;
        }
        let id = self.push(NodeValue::Str(text), true, true);
        self.interned.insert(text.as_bytes(), id);
        id
    }

    /// Marks the string object `id` interned, as the one for its text
    /// (unless another is already).
    fn intern_node(&mut self, text: &'a PyStr, id: NodeId) {
        if is_singleton_str(text) {
            return;
        }
        let id = *self.interned.entry(text.as_bytes()).or_insert(id);
        self.nodes[id].interned = true;
        self.nodes[id].pinned = true;
    }

    fn singleton_str(&mut self, text: &'a PyStr) -> NodeId {
        if let Some(&id) = self.singleton_strs.get(text.as_bytes()) {
            return id;
        }
        let interned = all_name_chars(text)
            || self.interned_chars.contains(text.as_bytes())
            || self.strings.chars.contains(&text.as_bytes());
        let id = self.push(NodeValue::Str(text), interned, true);
        self.singleton_strs.insert(text.as_bytes(), id);
        id
    }

    fn const_str(&mut self, text: &'a PyStr, force_interned: bool) -> NodeId {
        if self.fresh_percent && text.as_bytes() == b"%" {
            // A string of its own, held by what holds it (unflagged when
            // one constant does).
            if let Some(&id) = self.const_strs.get(text.as_bytes()) {
                return id;
            }
            let id = self.push(NodeValue::Str(text), false, false);
            self.const_strs.insert(text.as_bytes(), id);
            return id;
        }
        if is_singleton_str(text) || force_interned || all_name_chars(text) {
            return self.interned_str(text);
        }
        // An identifier came first: every equal constant is that interned
        // object.
        if self.first_seen.get(text.as_bytes()) == Some(&true) {
            return self.interned_str(text);
        }
        if let Some(&id) = self.const_strs.get(text.as_bytes()) {
            return id;
        }
        let id = self.push(NodeValue::Str(text), false, false);
        self.const_strs.insert(text.as_bytes(), id);
        id
    }

    /// A tuple of constants (a code object's `co_consts`, or a tuple
    /// constant), merged through the cache. Returns its key and object.
    fn tuple_of_constants(&mut self, items: &'a [Constant], force_interned: bool) -> (KeyId, NodeId) {
        let mut keys = Vec::with_capacity(items.len());
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            let (key, id) = self.constant(item, force_interned);
            keys.push(key);
            ids.push(id);
        }
        let key = self.key(Key::Tuple(keys));
        if items.is_empty() {
            return (key, self.empty_tuple);
        }
        if let Some(&id) = self.cached.get(&key) {
            return (key, id);
        }
        if !force_interned && self.name_tuples.contains(&key) {
            // The same tuple serves as names somewhere: its strings are the
            // interned ones.
            return self.tuple_of_constants(items, true);
        }
        let id = self.push(NodeValue::Tuple(ids), false, false);
        self.cached.insert(key, id);
        (key, id)
    }

    fn constant(&mut self, constant: &'a Constant, force_interned: bool) -> (KeyId, NodeId) {
        match constant {
            Constant::None => (self.key(Key::None), self.none),
            Constant::Ellipsis => (self.key(Key::Ellipsis), self.ellipsis),
            Constant::Bool(b) => (self.key(Key::Bool(*b)), if *b { self.true_ } else { self.false_ }),
            Constant::Int(value) => {
                let key = self.key(Key::Int(value));
                if let Some(small) = value.to_i64().filter(|v| (-5..=self.small_int_max).contains(v)) {
                    if let Some(&id) = self.small_ints.get(&small) {
                        return (key, id);
                    }
                    let id = self.push(NodeValue::Int(value), false, true);
                    self.small_ints.insert(small, id);
                    return (key, id);
                }
                (key, self.cached_scalar(key, NodeValue::Int(value)))
            }
            Constant::Float(f) => {
                let key = if f.is_nan() { self.unique_key() } else { self.key(Key::Float(f.to_bits())) };
                (key, self.cached_scalar(key, NodeValue::Float(*f)))
            }
            Constant::Complex { real, imag } => {
                let key = if real.is_nan() || imag.is_nan() {
                    self.unique_key()
                } else {
                    self.key(Key::Complex(real.to_bits(), imag.to_bits()))
                };
                (key, self.cached_scalar(key, NodeValue::Complex(*real, *imag)))
            }
            Constant::Str(text) => (self.key(Key::Str(text.as_bytes())), self.const_str(text, force_interned)),
            Constant::Bytes(data) => {
                let key = self.key(Key::Bytes(data));
                if data.len() <= 1 {
                    return (key, self.bytes_singleton(data));
                }
                (key, self.cached_scalar(key, NodeValue::Bytes(data)))
            }
            Constant::Tuple(items) => self.tuple_of_constants(items, force_interned),
            Constant::FrozenSet(items) => {
                let items = dedup_set_items(items);
                let mut keys = Vec::with_capacity(items.len());
                let mut ids = Vec::with_capacity(items.len());
                for &item in &items {
                    let (key, id) = self.constant(item, false);
                    keys.push(key);
                    ids.push(id);
                }
                let mut sorted = keys;
                sorted.sort_unstable();
                sorted.dedup();
                let key = self.key(Key::FrozenSet(sorted));
                if items.iter().any(|item| self.replaced_when_interned(item)) {
                    // Interning rebuilds the frozenset in every tuple that
                    // holds it: one object per container.
                    return (key, self.push(NodeValue::FrozenSet(ids), false, false));
                }
                (key, self.cached_scalar(key, NodeValue::FrozenSet(ids)))
            }
            Constant::Slice(parts) => {
                let [start, stop, step] = &**parts;
                let keys = [self.key_of(start), self.key_of(stop), self.key_of(step)];
                let key = self.key(Key::Slice(keys));
                if let Some(&id) = self.cached.get(&key) {
                    return (key, id);
                }
                let parts = [self.slice_part(start), self.slice_part(stop), self.slice_part(step)];
                let id = self.push(NodeValue::Slice(parts), false, false);
                self.cached.insert(key, id);
                (key, id)
            }
            Constant::Code(code) => {
                let key = self.unique_key();
                (key, self.code(code))
            }
        }
    }

    /// A part of a slice constant: the object the parser made for the
    /// literal. The constant cache merges the slice as a whole but never
    /// its parts, and code objects do not intern strings inside slices, so
    /// each part is an object of its own unless it is a singleton (small
    /// ints, one-character strings, empty and one-byte bytes, `None`,
    /// `True`, `False`, `...`).
    fn slice_part(&mut self, part: &'a Constant) -> NodeId {
        match part {
            Constant::Int(value) if value.to_i64().is_some_and(|v| (-5..=self.small_int_max).contains(&v)) => {
                self.constant(part, false).1
            }
            Constant::Int(value) => self.push(NodeValue::Int(value), false, false),
            Constant::Float(f) => self.push(NodeValue::Float(*f), false, false),
            Constant::Complex { real, imag } => self.push(NodeValue::Complex(*real, *imag), false, false),
            Constant::Str(text) if !is_singleton_str(text) => self.push(NodeValue::Str(text), false, false),
            // The parser's singleton, whatever the cache holds for its text.
            Constant::Str(text) => self.singleton_str(text),
            Constant::Bytes(data) if data.len() > 1 => self.push(NodeValue::Bytes(data), false, false),
            _ => self.constant(part, false).1,
        }
    }

    /// Whether interning the constants of a code object swaps this item of
    /// a frozenset for another object: an identifier-like string literal
    /// whose text was interned before by another object (by the process,
    /// or by the parser as a name). `intern_string_constants` then builds
    /// a new frozenset.
    fn replaced_when_interned(&self, item: &Constant) -> bool {
        let Constant::Str(text) = item else { return false };
        if !all_name_chars(text) || self.first_seen.get(text.as_bytes()) == Some(&true) {
            return false;
        }
        match text.as_bytes() {
            [] => false,
            [c] => self.strings.shadowed_chars.contains(c),
            bytes => self.identifiers.contains(bytes) || text.as_str().is_some_and(|t| self.strings.names.contains(t)),
        }
    }

    fn cached_scalar(&mut self, key: KeyId, value: NodeValue<'a>) -> NodeId {
        if let Some(&id) = self.cached.get(&key) {
            return id;
        }
        let id = self.push(value, false, false);
        self.cached.insert(key, id);
        id
    }
}

/// The items a Python set built from `items` in order keeps: the first of
/// each class of equal values (`1`, `1.0` and `True` are one).
fn dedup_set_items(items: &[Constant]) -> Vec<&Constant> {
    let mut seen = HashSet::with_capacity_and_hasher(items.len(), Default::default());
    let mut unequal = 0;
    items.iter().filter(|item| seen.insert(EqKey::of(item, &mut unequal))).collect()
}

/// A constant under Python's `==`, hashable: values that compare equal
/// have equal keys.
#[derive(Debug, PartialEq, Eq, Hash)]
enum EqKey<'a> {
    None,
    Ellipsis,
    /// Ints, bools, and floats or complex numbers with an integral value.
    Integer(BigInt),
    /// Any other number: real and imaginary parts, `-0.0` read as `0.0`.
    Number(u64, u64),
    Str(&'a [u8]),
    Bytes(&'a [u8]),
    Tuple(Vec<EqKey<'a>>),
    /// NaNs, code objects and nested frozensets: equal to nothing else here.
    Unequal(usize),
}

impl<'a> EqKey<'a> {
    fn of(constant: &'a Constant, unequal: &mut usize) -> Self {
        let mut fresh = || {
            *unequal += 1;
            EqKey::Unequal(*unequal)
        };
        let number = |real: f64, imag: f64| {
            let zero = |f: f64| if f == 0.0 { 0.0f64.to_bits() } else { f.to_bits() };
            match BigInt::from_f64(real) {
                Some(int) if imag == 0.0 && real.fract() == 0.0 => EqKey::Integer(int),
                _ => EqKey::Number(zero(real), zero(imag)),
            }
        };
        match constant {
            Constant::None => EqKey::None,
            Constant::Ellipsis => EqKey::Ellipsis,
            Constant::Bool(b) => EqKey::Integer(BigInt::from(u8::from(*b))),
            Constant::Int(value) => EqKey::Integer(value.clone()),
            Constant::Float(f) if f.is_nan() => fresh(),
            Constant::Float(f) => number(*f, 0.0),
            Constant::Complex { real, imag } if real.is_nan() || imag.is_nan() => fresh(),
            Constant::Complex { real, imag } => number(*real, *imag),
            Constant::Str(text) => EqKey::Str(text.as_bytes()),
            Constant::Bytes(data) => EqKey::Bytes(data),
            Constant::Tuple(items) => EqKey::Tuple(items.iter().map(|item| EqKey::of(item, unequal)).collect()),
            Constant::FrozenSet(_) | Constant::Slice(_) | Constant::Code(_) => fresh(),
        }
    }
}

/// The names of a tuple as the code object was made with them: a renamed
/// annotation scope's first name was `.format`.
fn names_as_made(names: &[PyStr], renamed: bool) -> impl Iterator<Item = &[u8]> {
    names.iter().enumerate().map(move |(i, n)| if renamed && i == 0 { b".format".as_slice() } else { n.as_bytes() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_keep_the_first_of_equal_numbers() {
        let items = vec![
            Constant::Int(1.into()),
            Constant::Bool(true),
            Constant::Float(1.0),
            Constant::Complex { real: 1.0, imag: 0.0 },
            Constant::Float(-0.0),
            Constant::Int(0.into()),
            Constant::Float(0.5),
            Constant::Complex { real: 0.5, imag: -0.0 },
            Constant::Float(f64::NAN),
            Constant::Float(f64::NAN),
            Constant::Tuple(vec![Constant::Int(2.into())]),
            Constant::Tuple(vec![Constant::Float(2.0)]),
            Constant::Str(PyStr::new("1")),
            Constant::Bytes(b"1".to_vec()),
        ];
        let kept = dedup_set_items(&items);
        let kinds: Vec<String> = kept.iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(kept.len(), 8, "{kinds:?}");
        assert!(matches!(kept[0], Constant::Int(_)) && matches!(kept[1], Constant::Float(f) if *f == -0.0));
        assert!(matches!(kept[2], Constant::Float(f) if *f == 0.5));
    }

    #[test]
    fn identifier_like_means_ascii_letters_digits_and_underscore() {
        assert!(all_name_chars(&PyStr::new("_a1")) && all_name_chars(&PyStr::new("")));
        assert!(!all_name_chars(&PyStr::new("a.b")) && !all_name_chars(&PyStr::new("é")));
        assert!(is_singleton_str(&PyStr::new("é")) && !is_singleton_str(&PyStr::new("\u{100}")));
    }
}
