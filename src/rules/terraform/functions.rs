//! The pure Terraform functions the evaluator knows: the ones teams use to shape the values a
//! rule reads (`for_each = toset(var.names)`, `merge(local.defaults, var.settings)`). Each is
//! evaluated only when every argument it needs is known; any other function is unknown, with
//! its name as the reason.

use super::eval::Value;

/// Calls the function `name` on evaluated arguments.
pub fn call(name: &str, args: Vec<Value>) -> Value {
    let unknown = || Value::Unknown(format!("the result of `{name}()`"));
    // `try` and `coalesce` need only their arguments up to the first that decides.
    match name {
        "try" => {
            return match args.into_iter().next() {
                Some(first) if first.is_known() => first,
                Some(first) => first,
                None => unknown(),
            }
        }
        "coalesce" => {
            for arg in args {
                match arg {
                    Value::Null => continue,
                    Value::String(ref s) if s.is_empty() => continue,
                    known if known.is_known() => return known,
                    other => return other,
                }
            }
            return unknown();
        }
        _ => {}
    }
    if let Some(not_known) = args.iter().find(|a| !a.is_known()) {
        return not_known.clone();
    }
    let result = match (name, args.as_slice()) {
        ("tolist", [Value::List(items)]) => Some(Value::List(items.clone())),
        ("toset", [Value::List(items)]) => Some(Value::List(set(items))),
        ("tomap", [object @ Value::Object(_)]) => Some(object.clone()),
        ("tostring", [value]) => value.as_str().map(|s| Value::String(s.into_owned())),
        ("tonumber", [value]) => value.as_number().map(Value::Number),
        ("tobool", [value]) => value.as_bool().map(Value::Bool),
        ("length", [Value::List(items)]) => Some(Value::Number(items.len() as f64)),
        ("length", [object @ Value::Object(_)]) => {
            super::eval::elements(object).map(|e| Value::Number(e.len() as f64))
        }
        ("length", [Value::String(s)]) => Some(Value::Number(s.chars().count() as f64)),
        ("lower", [Value::String(s)]) => Some(Value::String(s.to_lowercase())),
        ("upper", [Value::String(s)]) => Some(Value::String(s.to_uppercase())),
        ("concat", lists) => lists
            .iter()
            .map(|l| match l {
                Value::List(items) => Some(items.clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|lists| Value::List(lists.concat())),
        ("merge", objects) => {
            let mut merged: Vec<(String, Value)> = Vec::new();
            for object in objects {
                match object {
                    Value::Object(entries) => {
                        for (key, value) in entries {
                            merged.retain(|(k, _)| k != key);
                            merged.push((key.clone(), value.clone()));
                        }
                    }
                    Value::Null => {}
                    _ => return unknown(),
                }
            }
            Some(Value::Object(merged))
        }
        ("lookup", [object @ Value::Object(_), key, rest @ ..]) if rest.len() <= 1 => key
            .as_str()
            .and_then(|key| object.get(&key).cloned().or_else(|| rest.first().cloned())),
        ("contains", [Value::List(items), value]) => Some(Value::Bool(items.contains(value))),
        ("keys", [object @ Value::Object(_)]) => super::eval::elements(object)
            .map(|e| Value::List(e.into_iter().map(|(k, _)| k).collect())),
        ("values", [object @ Value::Object(_)]) => super::eval::elements(object)
            .map(|e| Value::List(e.into_iter().map(|(_, v)| v).collect())),
        ("element", [Value::List(items), index]) if !items.is_empty() => index
            .as_number()
            .filter(|i| *i >= 0.0)
            .map(|i| items[(i as usize) % items.len()].clone()),
        ("distinct", [Value::List(items)]) => {
            let mut unique: Vec<Value> = Vec::new();
            for item in items {
                if !unique.contains(item) {
                    unique.push(item.clone());
                }
            }
            Some(Value::List(unique))
        }
        ("compact", [Value::List(items)]) => Some(Value::List(
            items
                .iter()
                .filter(|v| !matches!(v, Value::Null) && v.as_str().is_none_or(|s| !s.is_empty()))
                .cloned()
                .collect(),
        )),
        ("flatten", [Value::List(items)]) => Some(Value::List(flatten(items))),
        _ => None,
    };
    result.unwrap_or_else(unknown)
}

/// A set's elements as Terraform orders them: unique, and sorted when they are strings.
fn set(items: &[Value]) -> Vec<Value> {
    let mut unique: Vec<Value> = Vec::new();
    for item in items {
        if !unique.contains(item) {
            unique.push(item.clone());
        }
    }
    if unique.iter().all(|v| matches!(v, Value::String(_))) {
        unique.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    unique
}

fn flatten(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .flat_map(|item| match item {
            Value::List(inner) => flatten(inner),
            other => vec![other.clone()],
        })
        .collect()
}
