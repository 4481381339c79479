//! Static evaluation of Terraform expressions: literals, collections, `var.*` (tfvars, then the
//! variable's default), `local.*`, string templates and the operators on those. Anything else
//! (resource attributes, function calls, `for` expressions) is [`Value::Unknown`] with the
//! reason, so a rule can say "could not be evaluated statically" instead of guessing.

use hcl::edit::expr::{BinaryOperator, UnaryOperator};
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::template::{Element, Template};
use hcl::edit::Ident;

use super::Module;

/// How deep `local`/`var` references may chain before evaluation gives up (cycles end here).
const MAX_DEPTH: usize = 32;

/// A statically evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Object(Vec<(String, Value)>),
    /// A string template with some parts known: `"repo@${var.digest}"`.
    Partial(Vec<Piece>),
    /// Not known before `terraform apply`; the text says why.
    Unknown(String),
}

/// A piece of a partly known string.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Unknown(String),
}

impl Value {
    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown(_) | Value::Partial(_))
    }

    /// A string, or a bool/number as Terraform converts it to one.
    pub fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::String(s) => Some(s.as_str().into()),
            Value::Bool(b) => Some(b.to_string().into()),
            Value::Number(n) => Some(number_to_string(*n).into()),
            _ => None,
        }
    }

    /// A bool, or a string Terraform converts to one (`"true"`, `"false"`).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    /// A number, or a string Terraform converts to one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Why the value is not (wholly) known.
    pub fn unknown_reason(&self) -> Option<String> {
        match self {
            Value::Unknown(why) => Some(why.clone()),
            Value::Partial(pieces) => pieces.iter().find_map(|p| match p {
                Piece::Unknown(why) => Some(why.clone()),
                Piece::Text(_) => None,
            }),
            _ => None,
        }
    }

    /// The object's value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|e| &e.1),
            _ => None,
        }
    }
}

fn number_to_string(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Evaluates `expr` in `module`.
pub fn eval(module: &Module<'_>, expr: &Expression) -> Value {
    Evaluator { module, depth: 0 }.eval(expr)
}

struct Evaluator<'m, 'a> {
    module: &'m Module<'a>,
    depth: usize,
}

impl Evaluator<'_, '_> {
    fn eval(&mut self, expr: &Expression) -> Value {
        match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => n.value().as_f64().map_or_else(
                || Value::Unknown("a number out of range".into()),
                Value::Number,
            ),
            Expression::String(s) => Value::String(s.value().to_string()),
            Expression::Array(array) => Value::List(array.iter().map(|e| self.eval(e)).collect()),
            Expression::Object(object) => {
                let mut entries = Vec::new();
                for (key, value) in object.iter() {
                    let key = match key {
                        hcl::edit::expr::ObjectKey::Ident(ident) => ident.value().to_string(),
                        hcl::edit::expr::ObjectKey::Expression(expr) => {
                            match self.eval(expr).as_str() {
                                Some(key) => key.into_owned(),
                                None => {
                                    return Value::Unknown("an object key that is computed".into())
                                }
                            }
                        }
                    };
                    entries.push((key, self.eval(value.expr())));
                }
                Value::Object(entries)
            }
            Expression::StringTemplate(template) => self.template(template),
            Expression::HeredocTemplate(heredoc) => self.template(&heredoc.template),
            Expression::Parenthesis(inner) => self.eval(inner.inner()),
            Expression::Variable(name) => Value::Unknown(format!(
                "`{}` is only known while Terraform iterates",
                name.value()
            )),
            Expression::Conditional(conditional) => {
                match self.eval(&conditional.cond_expr).as_bool() {
                    Some(true) => self.eval(&conditional.true_expr),
                    Some(false) => self.eval(&conditional.false_expr),
                    None => Value::Unknown("a condition that is not known statically".into()),
                }
            }
            Expression::FuncCall(call) => {
                Value::Unknown(format!("the result of `{}()`", call.name.name.value()))
            }
            Expression::Traversal(traversal) => {
                self.traversal(&traversal.expr, &traversal.operators)
            }
            Expression::UnaryOp(op) => {
                let value = self.eval(&op.expr);
                match (op.operator.value(), &value) {
                    (UnaryOperator::Not, _) => value
                        .as_bool()
                        .map_or_else(|| unknown_like(&value), |b| Value::Bool(!b)),
                    (UnaryOperator::Neg, _) => value
                        .as_number()
                        .map_or_else(|| unknown_like(&value), |n| Value::Number(-n)),
                }
            }
            Expression::BinaryOp(op) => {
                let lhs = self.eval(&op.lhs_expr);
                let rhs = self.eval(&op.rhs_expr);
                binary(*op.operator.value(), &lhs, &rhs)
            }
            Expression::ForExpr(_) => Value::Unknown("a `for` expression".into()),
        }
    }

    fn template(&mut self, template: &Template) -> Value {
        let mut pieces: Vec<Piece> = Vec::new();
        for element in template.iter() {
            match element {
                Element::Literal(text) => push_text(&mut pieces, text.value()),
                Element::Interpolation(interpolation) => {
                    let value = self.eval(&interpolation.expr);
                    match value {
                        Value::Partial(inner) => {
                            for piece in inner {
                                match piece {
                                    Piece::Text(text) => push_text(&mut pieces, &text),
                                    unknown => pieces.push(unknown),
                                }
                            }
                        }
                        other => match other.as_str() {
                            Some(text) => push_text(&mut pieces, &text),
                            None => pieces.push(Piece::Unknown(
                                other
                                    .unknown_reason()
                                    .unwrap_or_else(|| "a value that is not a string".into()),
                            )),
                        },
                    }
                }
                Element::Directive(_) => {
                    pieces.push(Piece::Unknown("a template directive".into()));
                }
            }
        }
        match pieces.as_slice() {
            [] => Value::String(String::new()),
            [Piece::Text(text)] => Value::String(text.clone()),
            _ => Value::Partial(pieces),
        }
    }

    fn traversal(
        &mut self,
        root: &Expression,
        operators: &[hcl::edit::Decorated<TraversalOperator>],
    ) -> Value {
        let Expression::Variable(root_name) = root else {
            let base = self.eval(root);
            return self.apply(base, operators);
        };
        let namespace = root_name.value().as_str();
        let Some((first, rest)) = operators.split_first() else {
            return Value::Unknown(format!("`{namespace}`"));
        };
        let TraversalOperator::GetAttr(name) = first.value() else {
            return Value::Unknown(format!("an index into `{namespace}`"));
        };
        let name: &Ident = name.value();
        let target = match namespace {
            "var" => self.module.variable_value(name.as_str()),
            "local" => self.module.local(name.as_str()),
            _ => {
                return Value::Unknown(format!(
                    "`{}` is known only after apply",
                    reference_text(namespace, operators)
                ))
            }
        };
        let Some(target) = target else {
            return Value::Unknown(match namespace {
                "var" => format!("variable `{name}` has no default and no value in a tfvars file"),
                _ => format!("`{namespace}.{name}` is not defined in this module"),
            });
        };
        if self.depth >= MAX_DEPTH {
            return Value::Unknown(format!("`{namespace}.{name}` refers to itself"));
        }
        self.depth += 1;
        let value = self.eval(target);
        self.depth -= 1;
        self.apply(value, rest)
    }

    fn apply(
        &mut self,
        mut value: Value,
        operators: &[hcl::edit::Decorated<TraversalOperator>],
    ) -> Value {
        for operator in operators {
            value = match operator.value() {
                TraversalOperator::GetAttr(key) => match &value {
                    Value::Object(_) => {
                        value.get(key.value().as_str()).cloned().unwrap_or_else(|| {
                            Value::Unknown(format!("no attribute `{}`", key.value()))
                        })
                    }
                    _ => unknown_like(&value),
                },
                TraversalOperator::Index(index) => {
                    let index = self.eval(index);
                    match (&value, &index) {
                        (Value::List(items), _) => index
                            .as_number()
                            .and_then(|i| items.get(i as usize).cloned())
                            .unwrap_or_else(|| unknown_like(&index)),
                        (Value::Object(_), _) => match index.as_str() {
                            Some(key) => value
                                .get(&key)
                                .cloned()
                                .unwrap_or_else(|| Value::Unknown(format!("no key `{key}`"))),
                            None => unknown_like(&index),
                        },
                        _ => unknown_like(&value),
                    }
                }
                TraversalOperator::LegacyIndex(index) => match &value {
                    Value::List(items) => items
                        .get(*index.value() as usize)
                        .cloned()
                        .unwrap_or_else(|| Value::Unknown("an index out of range".into())),
                    _ => unknown_like(&value),
                },
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    Value::Unknown("a splat expression".into())
                }
            };
        }
        value
    }
}

fn unknown_like(value: &Value) -> Value {
    Value::Unknown(
        value
            .unknown_reason()
            .unwrap_or_else(|| "a value of another type".into()),
    )
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        last.push_str(text);
    } else {
        pieces.push(Piece::Text(text.to_string()));
    }
}

/// `aws_ecr_repository.this.name`, for messages.
fn reference_text(root: &str, operators: &[hcl::edit::Decorated<TraversalOperator>]) -> String {
    let mut text = root.to_string();
    for operator in operators {
        match operator.value() {
            TraversalOperator::GetAttr(key) => {
                text.push('.');
                text.push_str(key.value().as_str());
            }
            _ => text.push_str("[…]"),
        }
    }
    text
}

/// The dotted path an expression refers to (`aws_ecr_repository.this.name`), if it is a plain
/// reference.
pub fn reference(expr: &Expression) -> Option<Vec<&str>> {
    let Expression::Traversal(traversal) = expr else {
        return None;
    };
    let Expression::Variable(root) = &traversal.expr else {
        return None;
    };
    let mut path = vec![root.value().as_str()];
    for operator in &traversal.operators {
        match operator.value() {
            TraversalOperator::GetAttr(key) => path.push(key.value().as_str()),
            _ => return None,
        }
    }
    Some(path)
}

fn binary(operator: BinaryOperator, lhs: &Value, rhs: &Value) -> Value {
    use BinaryOperator::*;
    match operator {
        And | Or => match (lhs.as_bool(), rhs.as_bool()) {
            (Some(a), Some(b)) => Value::Bool(if operator == And { a && b } else { a || b }),
            // `false && x` and `true || x` are known whatever x is.
            (Some(false), None) | (None, Some(false)) if operator == And => Value::Bool(false),
            (Some(true), None) | (None, Some(true)) if operator == Or => Value::Bool(true),
            _ => unknown_pair(lhs, rhs),
        },
        Eq | NotEq => {
            if !lhs.is_known() || !rhs.is_known() {
                return unknown_pair(lhs, rhs);
            }
            let equal = lhs == rhs;
            Value::Bool(if operator == Eq { equal } else { !equal })
        }
        Less | LessEq | Greater | GreaterEq | Plus | Minus | Mul | Div | Mod => {
            let (Some(a), Some(b)) = (lhs.as_number(), rhs.as_number()) else {
                return unknown_pair(lhs, rhs);
            };
            match operator {
                Less => Value::Bool(a < b),
                LessEq => Value::Bool(a <= b),
                Greater => Value::Bool(a > b),
                GreaterEq => Value::Bool(a >= b),
                Plus => Value::Number(a + b),
                Minus => Value::Number(a - b),
                Mul => Value::Number(a * b),
                Div if b != 0.0 => Value::Number(a / b),
                Mod if b != 0.0 => Value::Number(a % b),
                _ => Value::Unknown("a division by zero".into()),
            }
        }
    }
}

fn unknown_pair(lhs: &Value, rhs: &Value) -> Value {
    Value::Unknown(
        lhs.unknown_reason()
            .or_else(|| rhs.unknown_reason())
            .unwrap_or_else(|| "an operation on values of another type".into()),
    )
}
