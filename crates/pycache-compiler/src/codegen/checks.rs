//! The code generator's SyntaxWarnings: operations on literals that can
//! only fail or mislead at run time (`x is 1`, `(a, b)(c)`, `[1, 2][0, 1]`,
//! `assert (x, "message")`), with CPython 3.12's messages.

use super::Compiler;
use crate::ast::{CmpOp, Expr, ExprKind};
use crate::code::Constant;
use crate::instr::Loc;
use crate::warning::{Category, Warning};

/// The type CPython infers for a literal expression, by name.
fn infer_type(e: &Expr) -> Option<&'static str> {
    Some(match &e.kind {
        ExprKind::Tuple { .. } => "tuple",
        ExprKind::List { .. } | ExprKind::ListComp(_) => "list",
        ExprKind::Dict { .. } | ExprKind::DictComp(_) => "dict",
        ExprKind::Set(_) | ExprKind::SetComp(_) => "set",
        ExprKind::GeneratorExp(_) => "generator",
        ExprKind::Lambda { .. } => "function",
        ExprKind::JoinedStr(_) | ExprKind::FormattedValue { .. } => "str",
        ExprKind::TemplateStr(_) => "string.templatelib.Template",
        ExprKind::Constant { value, .. } => constant_type(value),
        _ => return None,
    })
}

fn constant_type(value: &Constant) -> &'static str {
    match value {
        Constant::None => "NoneType",
        Constant::Ellipsis => "ellipsis",
        Constant::Bool(_) => "bool",
        Constant::Int(_) => "int",
        Constant::Float(_) => "float",
        Constant::Complex { .. } => "complex",
        Constant::Str(_) => "str",
        Constant::Bytes(_) => "bytes",
        Constant::Tuple(_) => "tuple",
        Constant::FrozenSet(_) => "frozenset",
        Constant::Slice(_) => "slice",
        Constant::Code(_) => "code",
    }
}

/// An operand `is` may sensibly compare: anything but a literal, or one
/// of the singletons.
fn is_identity_operand(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Constant { value, .. } => {
            matches!(value, Constant::None | Constant::Bool(_) | Constant::Ellipsis)
        }
        _ => true,
    }
}

impl Compiler<'_> {
    pub(super) fn warn(&mut self, loc: Loc, message: String) {
        self.warnings.push(Warning { lineno: loc.lineno.max(0) as u32, category: Category::Syntax, message });
    }

    pub(super) fn check_compare(&mut self, e: &Expr, left: &Expr, ops: &[CmpOp], comparators: &[Expr]) {
        let mut left_ok = is_identity_operand(left);
        let mut left_expr = left;
        for (op, right) in ops.iter().zip(comparators) {
            let right_ok = is_identity_operand(right);
            if matches!(op, CmpOp::Is | CmpOp::IsNot) && !(left_ok && right_ok) {
                let literal = if left_ok { right } else { left_expr };
                let name = infer_type(literal).unwrap_or("object");
                let message = if *op == CmpOp::Is {
                    format!("\"is\" with '{name}' literal. Did you mean \"==\"?")
                } else {
                    format!("\"is not\" with '{name}' literal. Did you mean \"!=\"?")
                };
                self.warn(Loc::of(e.range), message);
                return;
            }
            left_ok = right_ok;
            left_expr = right;
        }
    }

    pub(super) fn check_caller(&mut self, func: &Expr) {
        let literal = matches!(
            func.kind,
            ExprKind::Constant { .. }
                | ExprKind::Tuple { .. }
                | ExprKind::List { .. }
                | ExprKind::ListComp(_)
                | ExprKind::Dict { .. }
                | ExprKind::DictComp(_)
                | ExprKind::Set(_)
                | ExprKind::SetComp(_)
                | ExprKind::GeneratorExp(_)
                | ExprKind::JoinedStr(_)
                | ExprKind::FormattedValue { .. }
                | ExprKind::TemplateStr(_)
        );
        if let (true, Some(name)) = (literal, infer_type(func)) {
            self.warn(Loc::of(func.range), format!("'{name}' object is not callable; perhaps you missed a comma?"));
        }
    }

    /// A loaded subscript of a literal that cannot be subscripted, or
    /// indexed by a literal of the wrong type.
    pub(super) fn check_subscript(&mut self, value: &Expr, index: &Expr) {
        let unsubscriptable = match &value.kind {
            ExprKind::Constant { value, .. } => matches!(
                value,
                Constant::None
                    | Constant::Ellipsis
                    | Constant::Bool(_)
                    | Constant::Int(_)
                    | Constant::Float(_)
                    | Constant::Complex { .. }
                    | Constant::FrozenSet(_)
            ),
            ExprKind::Set(_)
            | ExprKind::SetComp(_)
            | ExprKind::GeneratorExp(_)
            | ExprKind::Lambda { .. }
            | ExprKind::TemplateStr(_) => true,
            _ => false,
        };
        if unsubscriptable {
            let name = infer_type(value).unwrap_or("object");
            self.warn(
                Loc::of(value.range),
                format!("'{name}' object is not subscriptable; perhaps you missed a comma?"),
            );
            return;
        }
        let Some(index_type) = infer_type(index) else { return };
        if matches!(index_type, "int" | "bool") {
            return;
        }
        let sequence = match &value.kind {
            ExprKind::Constant { value, .. } => {
                matches!(value, Constant::Str(_) | Constant::Bytes(_) | Constant::Tuple(_))
            }
            ExprKind::Tuple { .. }
            | ExprKind::List { .. }
            | ExprKind::ListComp(_)
            | ExprKind::JoinedStr(_)
            | ExprKind::FormattedValue { .. } => true,
            _ => false,
        };
        if let (true, Some(name)) = (sequence, infer_type(value)) {
            self.warn(
                Loc::of(value.range),
                format!("{name} indices must be integers or slices, not {index_type}; perhaps you missed a comma?"),
            );
        }
    }
}
