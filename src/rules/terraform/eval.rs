//! Static evaluation of Terraform expressions: literals, collections, `var.*` (tfvars, then the
//! variable's default), `local.*`, string templates, the operators on those, `for`
//! expressions, the names Terraform binds while it iterates (`each`, `count`, a `dynamic`
//! block's iterator) when what it iterates over is known, and the pure functions teams use
//! to shape such values (`toset`, `merge`, `lookup`, ...). Anything else (resource attributes,
//! data sources, module outputs, other functions) is [`Value::Unknown`] with the reason, so a
//! rule can say "could not be evaluated statically" instead of guessing. `terraform console`
//! is the oracle these semantics are tested against.

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
    /// `null`: Terraform treats an argument set to null as not set at all.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

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

/// Names bound while Terraform iterates (`each`, `count`, a `dynamic` block's iterator, a
/// `for` expression's variables), innermost last.
pub type Scope = Vec<(String, Value)>;

/// Evaluates `expr` in `module`.
pub fn eval(module: &Module<'_>, expr: &Expression) -> Value {
    eval_in(module, expr, &Scope::new())
}

/// Evaluates `expr` in `module` with `scope`'s names bound.
pub fn eval_in(module: &Module<'_>, expr: &Expression, scope: &Scope) -> Value {
    Evaluator {
        module,
        depth: 0,
        scope: scope.clone(),
    }
    .eval(expr)
}

/// The elements Terraform iterates over for a collection: (key, value) pairs. A list or set
/// gives its index as the key, an object or map its keys.
pub fn elements(collection: &Value) -> Option<Vec<(Value, Value)>> {
    match collection {
        Value::List(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Number(i as f64), v.clone()))
                .collect(),
        ),
        Value::Object(entries) => {
            // The last definition of a key wins; Terraform iterates a map in key order.
            let mut unique: Vec<(String, Value)> = Vec::new();
            for (key, value) in entries {
                unique.retain(|(k, _)| k != key);
                unique.push((key.clone(), value.clone()));
            }
            unique.sort_by(|a, b| a.0.cmp(&b.0));
            Some(
                unique
                    .into_iter()
                    .map(|(k, v)| (Value::String(k), v))
                    .collect(),
            )
        }
        _ => None,
    }
}

struct Evaluator<'m, 'a> {
    module: &'m Module<'a>,
    depth: usize,
    scope: Scope,
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
            Expression::Variable(name) => match self.bound(name.value().as_str()) {
                Some(value) => value,
                None => Value::Unknown(format!(
                    "`{}` is only known while Terraform iterates",
                    name.value()
                )),
            },
            Expression::Conditional(conditional) => {
                match self.eval(&conditional.cond_expr).as_bool() {
                    Some(true) => self.eval(&conditional.true_expr),
                    Some(false) => self.eval(&conditional.false_expr),
                    None => Value::Unknown("a condition that is not known statically".into()),
                }
            }
            Expression::FuncCall(call) => {
                let name = call.name.name.value().to_string();
                let qualified = !call.name.namespace.is_empty();
                let args: Vec<Value> = call.args.iter().map(|a| self.eval(a)).collect();
                if qualified || call.args.expand_final() {
                    return Value::Unknown(format!("the result of `{name}()`"));
                }
                super::functions::call(&name, args)
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
            Expression::ForExpr(for_expr) => self.for_expr(for_expr),
        }
    }

    fn bound(&self, name: &str) -> Option<Value> {
        self.scope
            .iter()
            .rev()
            .find(|(bound, _)| bound == name)
            .map(|(_, value)| value.clone())
    }

    fn for_expr(&mut self, for_expr: &hcl::edit::expr::ForExpr) -> Value {
        let collection = self.eval(&for_expr.intro.collection_expr);
        let Some(items) = elements(&collection) else {
            return unknown_like(&collection);
        };
        let key_var = for_expr
            .intro
            .key_var
            .as_ref()
            .map(|k| k.value().to_string());
        let value_var = for_expr.intro.value_var.value().to_string();
        let mut list = Vec::new();
        let mut object: Vec<(String, Value)> = Vec::new();
        for (key, value) in items {
            let depth = self.scope.len();
            if let Some(key_var) = &key_var {
                self.scope.push((key_var.clone(), key));
            }
            self.scope.push((value_var.clone(), value));
            let keep = match &for_expr.cond {
                Some(cond) => self.eval(&cond.expr).as_bool(),
                None => Some(true),
            };
            let outcome = match keep {
                None => Err(Value::Unknown(
                    "a `for` condition that is not known statically".into(),
                )),
                Some(false) => Ok(()),
                Some(true) => match &for_expr.key_expr {
                    None => {
                        list.push(self.eval(&for_expr.value_expr));
                        Ok(())
                    }
                    Some(key_expr) => {
                        let key = self.eval(key_expr);
                        match key.as_str() {
                            Some(key) => {
                                let value = self.eval(&for_expr.value_expr);
                                if for_expr.grouping {
                                    match object.iter_mut().find(|(k, _)| *k == key) {
                                        Some((_, Value::List(group))) => group.push(value),
                                        _ => object
                                            .push((key.into_owned(), Value::List(vec![value]))),
                                    }
                                } else {
                                    object.push((key.into_owned(), value));
                                }
                                Ok(())
                            }
                            None => Err(unknown_like(&key)),
                        }
                    }
                },
            };
            self.scope.truncate(depth);
            if let Err(unknown) = outcome {
                return unknown;
            }
        }
        match for_expr.key_expr {
            None => Value::List(list),
            Some(_) => Value::Object(object),
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
        if let Some(value) = self.bound(namespace) {
            return self.apply(value, operators);
        }
        let Some((first, rest)) = operators.split_first() else {
            return Value::Unknown(format!("`{namespace}`"));
        };
        let TraversalOperator::GetAttr(name) = first.value() else {
            return Value::Unknown(format!("an index into `{namespace}`"));
        };
        let name: &Ident = name.value();
        let text = || reference_text(namespace, operators);
        let target = match namespace {
            "var" => self.module.variable_value(name.as_str()),
            "local" => self.module.local(name.as_str()),
            "each" | "count" => {
                return Value::Unknown(format!(
                    "`{}` depends on what Terraform iterates over (`{}`), which is not known statically",
                    text(),
                    if namespace == "each" { "for_each" } else { "count" }
                ))
            }
            "module" => {
                return Value::Unknown(format!(
                    "`{}` is an output of module `{name}`, which is not evaluated here",
                    text()
                ))
            }
            "data" => {
                return Value::Unknown(format!(
                    "`{}` is read from a data source when Terraform plans",
                    text()
                ))
            }
            "path" | "terraform" => {
                return Value::Unknown(format!("`{}` depends on where Terraform runs", text()))
            }
            _ => return Value::Unknown(format!("`{}` is known only after apply", text())),
        };
        let Some(target) = target else {
            // A variable without a default is required: its value comes from the caller.
            return Value::Unknown(match namespace {
                "var" => format!("variable `{name}` has no default and no value in a tfvars file"),
                _ => format!("`{namespace}.{name}` is not defined in this module"),
            });
        };
        if self.depth >= MAX_DEPTH {
            return Value::Unknown(format!("`{namespace}.{name}` refers to itself"));
        }
        self.depth += 1;
        // A variable's or local's value does not see the names bound where it is used.
        let scope = std::mem::take(&mut self.scope);
        let value = self.eval(target);
        self.scope = scope;
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
    let (path, whole) = attribute_path(traversal)?;
    whole.then_some(path)
}

/// The leading dotted path of a traversal (`docker_image.app` of `docker_image.app[0].name`),
/// and whether it is the whole traversal.
fn attribute_path(traversal: &hcl::edit::expr::Traversal) -> Option<(Vec<&str>, bool)> {
    let Expression::Variable(root) = &traversal.expr else {
        return None;
    };
    let mut path = vec![root.value().as_str()];
    for operator in &traversal.operators {
        match operator.value() {
            TraversalOperator::GetAttr(key) => path.push(key.value().as_str()),
            _ => return Some((path, false)),
        }
    }
    Some((path, true))
}

/// The leading dotted path of every traversal in an expression, nested ones included:
/// `"${docker_image.app[0].name}:${var.tag}"` refers to `docker_image.app` and `var.tag`.
pub fn references_in(expr: &Expression) -> Vec<Vec<String>> {
    use hcl::edit::visit::{visit_expr, visit_traversal, Visit};
    #[derive(Default)]
    struct Paths(Vec<Vec<String>>);
    impl Visit for Paths {
        fn visit_traversal(&mut self, traversal: &hcl::edit::expr::Traversal) {
            if let Some((path, _)) = attribute_path(traversal) {
                self.0.push(path.into_iter().map(str::to_string).collect());
            }
            visit_traversal(self, traversal);
        }
        fn visit_expr(&mut self, expr: &Expression) {
            visit_expr(self, expr);
        }
    }
    let mut paths = Paths::default();
    paths.visit_expr(expr);
    paths.0
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
