//! Statements.

use ruff_python_ast as rs;
use ruff_text_size::{Ranged, TextRange};

use super::Lower;
use crate::ast::{self, Range, Stmt, StmtKind};
use crate::error::{Refusal, Result};
use crate::target::Feature;

impl Lower<'_> {
    pub fn stmts(&mut self, stmts: &[rs::Stmt]) -> Result<Vec<Stmt>> {
        super::each(stmts, |s| self.stmt(s))
    }

    /// CPython places a decorated definition at its `def` or `class`
    /// keyword, where ruff starts it at the first decorator.
    fn definition_range(&self, range: TextRange, decorators: &[rs::Decorator]) -> Range {
        match decorators.last() {
            Some(last) => {
                let start = self.next_token(last.range().end());
                self.span(start, self.block_end(range.end()))
            }
            None => self.block_range(range),
        }
    }

    fn stmt(&mut self, stmt: &rs::Stmt) -> Result<Stmt> {
        let range = match stmt {
            rs::Stmt::If(_)
            | rs::Stmt::For(_)
            | rs::Stmt::While(_)
            | rs::Stmt::With(_)
            | rs::Stmt::Try(_)
            | rs::Stmt::Match(_) => self.block_range(stmt.range()),
            _ => self.range(stmt.range()),
        };
        let kind = match stmt {
            rs::Stmt::FunctionDef(f) => {
                let range = self.definition_range(f.range, &f.decorator_list);
                let def = self.function_def(f)?;
                let kind = if f.is_async {
                    StmtKind::AsyncFunctionDef(Box::new(def))
                } else {
                    StmtKind::FunctionDef(Box::new(def))
                };
                return Ok(Stmt { range, kind });
            }
            rs::Stmt::ClassDef(c) => {
                let range = self.definition_range(c.range, &c.decorator_list);
                let decorator_list = self.decorators(&c.decorator_list)?;
                let type_params = self.type_params(c.type_params.as_deref())?;
                if let Some(params) = c.type_params.as_deref() {
                    if self.target.has(crate::target::Feature::TypeParamMangling) {
                        self.refuse_forward_private_type_param(params)?;
                    } else if self.target.has(crate::target::Feature::GenericBasesUnmangled) {
                        // 3.12.7: the bases' private names stay unmangled, its
                        // own rule, not modelled.
                        self.refuse_private_names_in_generic_class(params, c.arguments.as_deref())?;
                    }
                }
                let (mut bases, keywords) = match &c.arguments {
                    Some(arguments) => (self.exprs(&arguments.args)?, self.keywords(&arguments.keywords)?),
                    None => (Vec::new(), Vec::new()),
                };
                if !type_params.is_empty() {
                    // CPython's compiler passes the subscripted `Generic` as one
                    // more base, loaded from a hidden local at the statement.
                    let kind =
                        ast::ExprKind::Name { id: crate::code::PyStr::new(".generic_base"), ctx: ast::Ctx::Load };
                    bases.push(ast::Expr { range, kind });
                }
                let id = self.id();
                let type_params_id = self.id();
                let def = ast::ClassDef {
                    id,
                    name: self.ident(&c.name.id),
                    bases,
                    keywords,
                    body: self.stmts(&c.body)?,
                    decorator_list,
                    type_params,
                    type_params_id,
                };
                return Ok(Stmt { range, kind: StmtKind::ClassDef(Box::new(def)) });
            }
            rs::Stmt::Return(r) => StmtKind::Return(self.opt_expr(r.value.as_deref())?),
            rs::Stmt::Delete(d) => StmtKind::Delete(self.exprs(&d.targets)?),
            rs::Stmt::TypeAlias(t) => StmtKind::TypeAlias {
                id: self.id(),
                type_params_id: self.id(),
                name: Box::new(self.expr(&t.name)?),
                type_params: self.type_params(t.type_params.as_deref())?,
                value: Box::new(self.expr(&t.value)?),
            },
            rs::Stmt::Assign(a) => {
                StmtKind::Assign { targets: self.exprs(&a.targets)?, value: Box::new(self.expr(&a.value)?) }
            }
            rs::Stmt::AugAssign(a) => StmtKind::AugAssign {
                target: Box::new(self.expr(&a.target)?),
                op: super::expr::operator(a.op),
                value: Box::new(self.expr(&a.value)?),
            },
            rs::Stmt::AnnAssign(a) => StmtKind::AnnAssign {
                target: Box::new(self.expr(&a.target)?),
                annotation: Box::new(self.expr(&a.annotation)?),
                value: self.opt_expr(a.value.as_deref())?,
                simple: a.simple,
            },
            rs::Stmt::For(f) => {
                let target = Box::new(self.expr(&f.target)?);
                let iter = Box::new(self.expr(&f.iter)?);
                let body = self.stmts(&f.body)?;
                let orelse = self.stmts(&f.orelse)?;
                if f.is_async {
                    StmtKind::AsyncFor { target, iter, body, orelse }
                } else {
                    StmtKind::For { target, iter, body, orelse }
                }
            }
            rs::Stmt::While(w) => StmtKind::While {
                test: Box::new(self.expr(&w.test)?),
                body: self.stmts(&w.body)?,
                orelse: self.stmts(&w.orelse)?,
            },
            rs::Stmt::If(i) => {
                let test = Box::new(self.expr(&i.test)?);
                let body = self.stmts(&i.body)?;
                let orelse = self.elif_chain(&i.elif_else_clauses, stmt.range())?;
                StmtKind::If { test, body, orelse }
            }
            rs::Stmt::With(w) => {
                let items = w
                    .items
                    .iter()
                    .map(|item| {
                        Ok(ast::WithItem {
                            context_expr: self.expr(&item.context_expr)?,
                            optional_vars: self.opt_expr(item.optional_vars.as_deref())?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let body = self.stmts(&w.body)?;
                if w.is_async { StmtKind::AsyncWith { items, body } } else { StmtKind::With { items, body } }
            }
            rs::Stmt::Match(m) => {
                let subject = Box::new(self.expr(&m.subject)?);
                let cases = m
                    .cases
                    .iter()
                    .map(|case| {
                        Ok(ast::MatchCase {
                            pattern: self.pattern(&case.pattern)?,
                            guard: self.opt_expr(case.guard.as_deref())?,
                            body: self.stmts(&case.body)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                StmtKind::Match { subject, cases }
            }
            rs::Stmt::Raise(r) => {
                StmtKind::Raise { exc: self.opt_expr(r.exc.as_deref())?, cause: self.opt_expr(r.cause.as_deref())? }
            }
            rs::Stmt::Try(t) => {
                let body = self.stmts(&t.body)?;
                let handlers = t
                    .handlers
                    .iter()
                    .map(|h| {
                        let rs::ExceptHandler::ExceptHandler(h) = h;
                        Ok(ast::ExceptHandler {
                            range: self.block_range(h.range),
                            type_: self.opt_expr(h.type_.as_deref())?,
                            name: h.name.as_ref().map(|n| self.ident(&n.id)),
                            body: self.stmts(&h.body)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let orelse = self.stmts(&t.orelse)?;
                let finalbody = self.stmts(&t.finalbody)?;
                if t.is_star {
                    StmtKind::TryStar { body, handlers, orelse, finalbody }
                } else {
                    StmtKind::Try { body, handlers, orelse, finalbody }
                }
            }
            rs::Stmt::Assert(a) => {
                StmtKind::Assert { test: Box::new(self.expr(&a.test)?), msg: self.opt_expr(a.msg.as_deref())? }
            }
            rs::Stmt::Import(i) => {
                if i.is_lazy && !self.target.has(Feature::LazyImports) {
                    return self.refuse(i.range, "a lazy import for a version without them");
                }
                StmtKind::Import { names: self.aliases(&i.names), lazy: i.is_lazy }
            }
            rs::Stmt::ImportFrom(i) => {
                if i.is_lazy {
                    if !self.target.has(Feature::LazyImports) {
                        return self.refuse(i.range, "a lazy import for a version without them");
                    }
                    // The parser's error (it wins over an earlier error of
                    // the symbol table), at `lazy` (3.15.md section E);
                    // `import *` is the symbol table's (code generation).
                    let (line, col) = self.src.position(i.range.start().to_u32());
                    let at = Some((line.max(0) as u32, col.max(0) as u32 + 1));
                    if i.module.as_ref().is_some_and(|m| m.id.as_str() == "__future__") {
                        return Err(Refusal::cpython("SyntaxError", "lazy from __future__ import is not allowed", at));
                    }
                }
                StmtKind::ImportFrom {
                    module: i.module.as_ref().map(|m| self.ident(&m.id)),
                    names: self.aliases(&i.names),
                    level: i.level,
                    lazy: i.is_lazy,
                }
            }
            rs::Stmt::Global(g) => StmtKind::Global(g.names.iter().map(|n| self.ident(&n.id)).collect()),
            rs::Stmt::Nonlocal(n) => StmtKind::Nonlocal(n.names.iter().map(|n| self.ident(&n.id)).collect()),
            rs::Stmt::Expr(e) => StmtKind::Expr(Box::new(self.expr(&e.value)?)),
            rs::Stmt::Pass(_) => StmtKind::Pass,
            rs::Stmt::Break(_) => StmtKind::Break,
            rs::Stmt::Continue(_) => StmtKind::Continue,
            rs::Stmt::IpyEscapeCommand(c) => return self.refuse(c.range, "IPython escape commands"),
        };
        Ok(Stmt { range, kind })
    }

    /// `elif` clauses become an `If` nested in the `orelse` of the one
    /// before, spanning from its `elif` to the end of the whole chain.
    fn elif_chain(&mut self, clauses: &[rs::ElifElseClause], whole: TextRange) -> Result<Vec<Stmt>> {
        let Some((first, rest)) = clauses.split_first() else { return Ok(Vec::new()) };
        match &first.test {
            None => self.stmts(&first.body),
            Some(test) => {
                let range = self.span(first.range.start(), self.block_end(whole.end()));
                let kind = StmtKind::If {
                    test: Box::new(self.expr(test)?),
                    body: self.stmts(&first.body)?,
                    orelse: self.elif_chain(rest, whole)?,
                };
                Ok(vec![Stmt { range, kind }])
            }
        }
    }

    fn function_def(&mut self, f: &rs::StmtFunctionDef) -> Result<ast::FunctionDef> {
        let decorator_list = self.decorators(&f.decorator_list)?;
        let type_params = self.type_params(f.type_params.as_deref())?;
        let args = self.arguments(&f.parameters)?;
        let returns = self.opt_expr(f.returns.as_deref())?;
        let id = self.id();
        let type_params_id = self.id();
        Ok(ast::FunctionDef {
            id,
            name: self.ident(&f.name.id),
            args,
            body: self.stmts(&f.body)?,
            decorator_list,
            returns,
            type_params,
            type_params_id,
        })
    }

    fn type_params(&mut self, params: Option<&rs::TypeParams>) -> Result<Vec<ast::TypeParam>> {
        let Some(params) = params else { return Ok(Vec::new()) };
        params
            .iter()
            .map(|p| {
                let (range, default) = match p {
                    rs::TypeParam::TypeVar(t) => (t.range, &t.default),
                    rs::TypeParam::TypeVarTuple(t) => (t.range, &t.default),
                    rs::TypeParam::ParamSpec(t) => (t.range, &t.default),
                };
                if default.is_some() {
                    // PEP 696 is Python 3.13: 3.12 rejects the syntax.
                    return self.refuse(range, "type parameter defaults (PEP 696)");
                }
                let kind = match p {
                    rs::TypeParam::TypeVar(t) => ast::TypeParamKind::TypeVar {
                        name: self.ident(&t.name.id),
                        bound: self.opt_expr(t.bound.as_deref())?,
                        id: self.id(),
                    },
                    rs::TypeParam::TypeVarTuple(t) => ast::TypeParamKind::TypeVarTuple { name: self.ident(&t.name.id) },
                    rs::TypeParam::ParamSpec(t) => ast::TypeParamKind::ParamSpec { name: self.ident(&t.name.id) },
                };
                Ok(ast::TypeParam { range: self.range(range), kind })
            })
            .collect()
    }

    fn decorators(&mut self, decorators: &[rs::Decorator]) -> Result<Vec<ast::Expr>> {
        super::each(decorators, |d| self.expr(&d.expression))
    }

    pub fn arguments(&mut self, p: &rs::Parameters) -> Result<ast::Arguments> {
        let mut out = ast::Arguments::default();
        for param in p.posonlyargs.iter().chain(&p.args) {
            if let Some(default) = &param.default {
                out.defaults.push(self.expr(default)?);
            }
        }
        out.posonlyargs = p.posonlyargs.iter().map(|a| self.arg(&a.parameter)).collect::<Result<_>>()?;
        out.args = p.args.iter().map(|a| self.arg(&a.parameter)).collect::<Result<_>>()?;
        out.vararg = p.vararg.as_deref().map(|a| self.arg(a)).transpose()?;
        out.kwonlyargs = p.kwonlyargs.iter().map(|a| self.arg(&a.parameter)).collect::<Result<_>>()?;
        out.kw_defaults = p
            .kwonlyargs
            .iter()
            .map(|a| a.default.as_deref().map(|d| self.expr(d)).transpose())
            .collect::<Result<_>>()?;
        out.kwarg = p.kwarg.as_deref().map(|a| self.arg(a)).transpose()?;
        Ok(out)
    }

    fn arg(&mut self, p: &rs::Parameter) -> Result<ast::Arg> {
        Ok(ast::Arg {
            range: self.range(p.range),
            arg: self.ident(&p.name.id),
            annotation: self.opt_expr(p.annotation.as_deref())?,
        })
    }

    fn aliases(&mut self, names: &[rs::Alias]) -> Vec<ast::Alias> {
        names
            .iter()
            .map(|a| ast::Alias {
                range: self.range(a.range),
                name: self.ident(&a.name.id),
                asname: a.asname.as_ref().map(|n| self.ident(&n.id)),
            })
            .collect()
    }

    fn pattern(&mut self, p: &rs::Pattern) -> Result<ast::Pattern> {
        use ast::PatternKind as K;
        let range = self.range(p.range());
        let kind = match p {
            rs::Pattern::MatchValue(v) => {
                self.unparenthesized_number(&v.value)?;
                K::MatchValue(Box::new(self.expr(&v.value)?))
            }
            rs::Pattern::MatchSingleton(s) => K::MatchSingleton(match s.value {
                rs::Singleton::None => crate::code::Constant::None,
                rs::Singleton::True => crate::code::Constant::Bool(true),
                rs::Singleton::False => crate::code::Constant::Bool(false),
            }),
            rs::Pattern::MatchSequence(s) => K::MatchSequence(self.patterns(&s.patterns)?),
            rs::Pattern::MatchMapping(m) => K::MatchMapping {
                keys: {
                    m.keys.iter().try_for_each(|k| self.unparenthesized_number(k))?;
                    self.exprs(&m.keys)?
                },
                patterns: self.patterns(&m.patterns)?,
                rest: m.rest.as_ref().map(|r| self.ident(&r.id)),
            },
            rs::Pattern::MatchClass(c) => K::MatchClass {
                cls: Box::new(self.expr(&c.cls)?),
                patterns: self.patterns(&c.arguments.patterns)?,
                kwd_attrs: c.arguments.keywords.iter().map(|k| self.ident(&k.attr.id)).collect(),
                kwd_patterns: c.arguments.keywords.iter().map(|k| self.pattern(&k.pattern)).collect::<Result<_>>()?,
            },
            rs::Pattern::MatchStar(s) => K::MatchStar(s.name.as_ref().map(|n| self.ident(&n.id))),
            rs::Pattern::MatchAs(a) => K::MatchAs {
                pattern: a.pattern.as_deref().map(|p| self.pattern(p).map(Box::new)).transpose()?,
                name: a.name.as_ref().map(|n| self.ident(&n.id)),
            },
            rs::Pattern::MatchOr(o) => K::MatchOr(self.patterns(&o.patterns)?),
        };
        Ok(ast::Pattern { range, kind })
    }

    fn patterns(&mut self, ps: &[rs::Pattern]) -> Result<Vec<ast::Pattern>> {
        ps.iter().map(|p| self.pattern(p)).collect()
    }

    /// CPython's grammar spells a signed or complex number in a pattern
    /// without parentheses inside it (`-1`, `1 + 2j`); ruff also takes
    /// `(1) + 2j` and `-(1)`, which CPython rejects as invalid syntax at a
    /// point of its parser's choosing. Such a number is declined here,
    /// before folding would make a constant of it.
    fn unparenthesized_number(&self, e: &rs::Expr) -> Result<()> {
        let parenthesized = match e {
            rs::Expr::UnaryOp(u) => {
                self.unparenthesized_number(&u.operand)?;
                u.operand.range().end() != u.range.end()
            }
            rs::Expr::BinOp(b) => {
                self.unparenthesized_number(&b.left)?;
                b.left.range().start() != b.range.start() || b.right.range().end() != b.range.end()
            }
            _ => false,
        };
        if parenthesized { self.refuse(e.range(), PARENTHESIZED_NUMBER) } else { Ok(()) }
    }
}

const PARENTHESIZED_NUMBER: &str = "a parenthesized part of a number in a pattern, which CPython's grammar rejects";

impl Lower<'_> {
    /// In a generic class's type-parameter scope 3.12.7 leaves the private
    /// names of its bases, keywords and bounds as written, where 3.12.1
    /// mangled them with the class's name. That scope's mangling is not
    /// modelled for 3.12.7, so such a class is refused rather than compiled
    /// with 3.12.1's.
    fn refuse_private_names_in_generic_class(
        &self,
        params: &rs::TypeParams,
        arguments: Option<&rs::Arguments>,
    ) -> Result<()> {
        let private = |e: &rs::Expr| matches!(e, rs::Expr::Name(n) if n.id.starts_with("__") && !n.id.ends_with("__"));
        let mut exprs: Vec<&rs::Expr> = Vec::new();
        if let Some(arguments) = arguments {
            exprs.extend(arguments.args.iter());
            exprs.extend(arguments.keywords.iter().map(|k| &k.value));
        }
        for param in &params.type_params {
            let (bound, default) = match param {
                rs::TypeParam::TypeVar(t) => (t.bound.as_deref(), t.default.as_deref()),
                rs::TypeParam::ParamSpec(p) => (None, p.default.as_deref()),
                rs::TypeParam::TypeVarTuple(t) => (None, t.default.as_deref()),
            };
            exprs.extend(bound.into_iter().chain(default));
        }
        match exprs.into_iter().find(|e| ruff_python_ast::helpers::any_over_expr(e, private)) {
            Some(e) => self.refuse(
                e.range(),
                "a private name in a generic class's bases or bounds, which 3.12.7 leaves unmangled",
            ),
            None => Ok(()),
        }
    }

    /// 3.13 mangles, in a generic class's type-parameter scope and the
    /// scopes nested in it, only the type parameters declared so far
    /// (`TypeParamMangling`). Its symbol table grows that set while
    /// visiting the parameters but its compiler sees the whole set, so a
    /// bound or default naming a private parameter declared after it is
    /// recorded under one name and compiled under another. That one case
    /// is refused.
    fn refuse_forward_private_type_param(&self, params: &rs::TypeParams) -> Result<()> {
        let private = |id: &str| id.starts_with("__") && !id.ends_with("__");
        let names: Vec<&str> = params
            .type_params
            .iter()
            .map(|p| match p {
                rs::TypeParam::TypeVar(t) => t.name.id.as_str(),
                rs::TypeParam::ParamSpec(p) => p.name.id.as_str(),
                rs::TypeParam::TypeVarTuple(t) => t.name.id.as_str(),
            })
            .collect();
        for (i, param) in params.type_params.iter().enumerate() {
            let later = &names[i + 1..];
            if !later.iter().any(|n| private(n)) {
                continue;
            }
            let (bound, default) = match param {
                rs::TypeParam::TypeVar(t) => (t.bound.as_deref(), t.default.as_deref()),
                rs::TypeParam::ParamSpec(p) => (None, p.default.as_deref()),
                rs::TypeParam::TypeVarTuple(t) => (None, t.default.as_deref()),
            };
            let names_later = |e: &rs::Expr| {
                let id = match e {
                    rs::Expr::Name(n) => n.id.as_str(),
                    rs::Expr::Attribute(a) => a.attr.id.as_str(),
                    rs::Expr::Lambda(l) => {
                        return l.parameters.as_deref().is_some_and(|ps| {
                            ps.iter().any(|p| private(p.name().id.as_str()) && later.contains(&p.name().id.as_str()))
                        });
                    }
                    _ => return false,
                };
                private(id) && later.contains(&id)
            };
            if let Some(e) =
                bound.into_iter().chain(default).find(|e| ruff_python_ast::helpers::any_over_expr(e, &names_later))
            {
                return self.refuse(
                    e.range(),
                    "a private type parameter named in the bound or default of an earlier one, which 3.13 mangles inconsistently",
                );
            }
        }
        Ok(())
    }
}
