//! YAML merge keys (`<<: *anchor`, `<<: [*a, *b]`) at any depth: an anchor
//! whose mapping itself merges another (`x-b: &b {<<: *a, B: "2"}`) is
//! resolved before it is merged, so `environment: {<<: *b}` gets both.

use serde_yaml_ng::{Mapping, Value};

/// Resolves every `<<` in `value`, innermost first; keys written beside a
/// merge win over merged ones, and earlier merged mappings over later ones.
pub fn resolve(value: &mut Value, path: &str) -> Result<(), String> {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                let at = match key {
                    Value::String(k) if path.is_empty() => k.clone(),
                    Value::String(k) => format!("{path}.{k}"),
                    _ => path.to_owned(),
                };
                resolve(child, &at)?;
            }
            let Some(merged) = map.remove(Value::String("<<".into())) else {
                return Ok(());
            };
            let at = if path.is_empty() {
                "<<".to_owned()
            } else {
                format!("{path}.<<")
            };
            let sources: Vec<Mapping> = match merged {
                Value::Mapping(m) => vec![m],
                Value::Sequence(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::Mapping(m) => Ok(m),
                        _ => Err(format!("{at}: a merge list holds mappings only")),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(format!("{at}: `<<` merges a mapping or a list of mappings")),
            };
            for source in sources {
                for (key, child) in source {
                    if !map.contains_key(&key) {
                        map.insert(key, child);
                    }
                }
            }
            Ok(())
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                resolve(item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Value::Tagged(tagged) => resolve(&mut tagged.value, path),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_of_a_merge_is_resolved() {
        let yaml = r#"
x-a: &a {A: "1", B: "0"}
x-b: &b {<<: *a, B: "2"}
services:
  s:
    environment:
      <<: *b
      C: "3"
"#;
        let mut doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
        resolve(&mut doc, "").unwrap();
        let env = &doc["services"]["s"]["environment"];
        assert_eq!(env["A"], Value::from("1"));
        assert_eq!(env["B"], Value::from("2"));
        assert_eq!(env["C"], Value::from("3"));
        assert!(env.get("<<").is_none());
        let mut bad: Value = serde_yaml_ng::from_str("a: {<<: 3}").unwrap();
        assert_eq!(
            resolve(&mut bad, "").unwrap_err(),
            "a.<<: `<<` merges a mapping or a list of mappings"
        );
    }
}
