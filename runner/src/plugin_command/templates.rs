//! The files of a new plugin crate other than the vendored SDK and WIT:
//! runner/templates/plugin/, with `__NAME__`, `__ARTIFACT__` and `__TYPE__`
//! standing for the plugin's name, its build artifact's stem and its type.

use super::crate_name;

macro_rules! template {
    ($file:literal) => {
        include_str!(concat!("../../templates/plugin/", $file, ".tmpl"))
    };
}

/// `(path in the crate, template)`, in the order they are listed when created.
pub const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", template!("Cargo.toml")),
    ("src/lib.rs", template!("src/lib.rs")),
    ("tasks.toml", template!("tasks.toml")),
    ("README.md", template!("README.md")),
    ("rust-toolchain.toml", template!("rust-toolchain.toml")),
    (".gitignore", template!("gitignore")),
];

/// The vendored SDK's manifest: the workspace's plugins/sdk/Cargo.toml with
/// every `workspace = true` replaced by the workspace's value.
pub const SDK_MANIFEST: &str = template!("sdk/Cargo.toml");

/// `template` filled in for the plugin `name`.
pub fn render(template: &str, name: &str) -> String {
    template
        .replace("__NAME__", name)
        .replace("__ARTIFACT__", &crate_name::artifact(name))
        .replace("__TYPE__", &crate_name::type_name(name))
}

#[cfg(test)]
mod tests {
    use toml::{Table, Value};

    use super::{FILES, SDK_MANIFEST, render};
    use crate::plugin_command::embedded;

    fn template(path: &str) -> &'static str {
        FILES.iter().find(|(p, _)| *p == path).unwrap().1
    }

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");

    /// The vendored SDK must build like the workspace's: same package fields,
    /// same dependencies with the same versions and features.
    #[test]
    fn the_vendored_sdk_manifest_resolves_the_workspace_fields() {
        let workspace = table(WORKSPACE_MANIFEST);
        let workspace = workspace["workspace"].as_table().unwrap();
        let original = table(embedded::SDK_MANIFEST);
        let vendored = table(SDK_MANIFEST);
        assert!(!SDK_MANIFEST.contains("workspace"), "{SDK_MANIFEST}");
        for section in ["package", "dependencies"] {
            let original = original[section].as_table().unwrap();
            let vendored = vendored[section].as_table().unwrap();
            assert_eq!(
                original.keys().collect::<Vec<_>>(),
                vendored.keys().collect::<Vec<_>>(),
                "[{section}] of templates/plugin/sdk/Cargo.toml.tmpl"
            );
            for (key, value) in original {
                let inherited = value.get("workspace") == Some(&Value::Boolean(true));
                let expected = match (inherited, section) {
                    (false, _) => value,
                    (true, "package") => &workspace["package"][key],
                    (true, _) => &workspace["dependencies"][key],
                };
                assert_eq!(
                    &vendored[key], expected,
                    "[{section}] {key} in templates/plugin/sdk/Cargo.toml.tmpl"
                );
            }
        }
    }

    #[test]
    fn the_manifest_makes_a_small_standalone_cdylib() {
        let manifest = table(&render(template("Cargo.toml"), "word-count"));
        assert_eq!(manifest["package"]["name"].as_str(), Some("word-count"));
        assert_eq!(
            manifest["lib"]["crate-type"],
            Value::Array(vec!["cdylib".into()])
        );
        assert_eq!(
            manifest["dependencies"]["run-plugin-sdk"]["path"].as_str(),
            Some("sdk")
        );
        let release = &manifest["profile"]["release"];
        assert_eq!(release["opt-level"].as_str(), Some("s"));
        assert_eq!(release["lto"].as_bool(), Some(true));
        assert_eq!(release["strip"].as_bool(), Some(true));
        assert!(manifest.contains_key("workspace"));
    }

    #[test]
    fn the_task_file_loads_and_points_at_the_artifact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasks.toml");
        std::fs::write(&path, render(template("tasks.toml"), "word-count")).unwrap();
        let file = crate::config::load(&path, &crate::plugin::builtin::names()).unwrap();
        let task = file.task("word-count").unwrap();
        let rendered = format!("{:?}", task.action);
        assert!(
            rendered.contains("target/wasm32-wasip2/release/word_count.wasm"),
            "{rendered}"
        );
    }

    #[test]
    fn every_placeholder_is_filled_in() {
        for (path, template) in FILES {
            let rendered = render(template, "word-count");
            for placeholder in ["__NAME__", "__ARTIFACT__", "__TYPE__"] {
                assert!(!rendered.contains(placeholder), "{path}: {placeholder}");
            }
        }
    }
}
