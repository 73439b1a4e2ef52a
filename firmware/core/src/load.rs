//! Reading layered settings: TOML files, each over the previous, then `MAMORI__SECTION__KEY`
//! environment variables, merged into one tree from which each crate reads the sections it
//! owns. A mistake in one section (an unknown key, a wrong type) is recorded with its key
//! path and leaves that section at its defaults, so that the others are still read and
//! checked and every mistake is reported at once.

use std::path::Path;

use crate::report::Report;

/// Why the layers could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("the settings could not be read")]
pub struct LoadError(#[source] config::ConfigError);

/// The merged layers, not yet split into sections.
#[derive(Debug, Clone)]
pub struct Layers {
    merged: config::Config,
}

impl Layers {
    /// Merges `files` (each over the previous; all must exist) and the `MAMORI__…` entries of
    /// `env`; the keys in `list_keys` take comma-separated lists from the environment.
    pub fn read(
        files: &[&Path],
        env: impl IntoIterator<Item = (String, String)>,
        list_keys: &[&str],
    ) -> Result<Self, LoadError> {
        Self::read_with_documents(files, &[], env, list_keys)
    }

    /// As [`Layers::read`], with TOML `documents` laid over the files (in order) and under
    /// the environment: the settings store's document over the board's defaults.
    pub fn read_with_documents(
        files: &[&Path],
        documents: &[&str],
        env: impl IntoIterator<Item = (String, String)>,
        list_keys: &[&str],
    ) -> Result<Self, LoadError> {
        let mut builder = config::Config::builder();
        for file in files {
            builder = builder.add_source(
                config::File::from(*file)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        for text in documents {
            builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
        }
        let env_map: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("MAMORI__"))
            .collect();
        let mut environment = config::Environment::with_prefix("MAMORI")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .source(Some(env_map));
        for key in list_keys {
            environment = environment.with_list_parse_key(key);
        }
        let merged = builder.add_source(environment).build().map_err(LoadError)?;
        Ok(Self { merged })
    }

    /// One TOML document, no environment: for tools and tests.
    pub fn from_toml_str(text: &str) -> Result<Self, LoadError> {
        let merged = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .map_err(LoadError)?;
        Ok(Self { merged })
    }

    /// Records an error for every top-level table that is not one of `known`.
    pub fn check_sections(&self, known: &[&str], report: &mut Report) {
        let Ok(top) = self
            .merged
            .clone()
            .try_deserialize::<config::Map<String, config::Value>>()
        else {
            return;
        };
        for key in top.keys() {
            if !known.contains(&key.as_str()) {
                report.error(
                    key.clone(),
                    "(a section)",
                    format!("unknown section; the sections are {}", known.join(", ")),
                );
            }
        }
    }

    /// Section `name` as `T`: its defaults when absent; when it cannot be read, an error
    /// keyed by the path inside it (`smtp.listeners[1].address`) and its defaults.
    pub fn section<T: serde::de::DeserializeOwned + Default>(
        &self,
        name: &str,
        report: &mut Report,
    ) -> T {
        let value = match self.merged.get::<config::Value>(name) {
            Ok(value) => value,
            Err(config::ConfigError::NotFound(_)) => return T::default(),
            Err(e) => {
                report.error(name, "(the section)", e.to_string());
                return T::default();
            }
        };
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(value) => value,
            Err(e) => {
                let path = e.path().to_string();
                let key = if path == "." || path.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}.{path}")
                };
                report.error(key, "(as written)", e.into_inner().to_string());
                T::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Section {
        port: u16,
        names: Vec<String>,
    }

    #[test]
    fn sections_are_read_alone_and_mistakes_keyed() {
        let layers =
            Layers::from_toml_str("[a]\nport = 25\n[b]\nport = \"x\"\n[c]\nprot = 1\n[zzz]\n")
                .unwrap();
        let mut r = Report::default();
        layers.check_sections(&["a", "b", "c", "d"], &mut r);
        let a: Section = layers.section("a", &mut r);
        let b: Section = layers.section("b", &mut r);
        let c: Section = layers.section("c", &mut r);
        let d: Section = layers.section("d", &mut r);
        assert_eq!(a.port, 25);
        assert_eq!((b.port, c.port, d.port), (0, 0, 0));
        let keys: Vec<&str> = r.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["zzz", "b.port", "c.prot"], "{r}");
    }

    #[test]
    fn environment_lists_and_values_layer_over_files() {
        let env = [
            ("MAMORI__A__PORT".to_string(), "587".to_string()),
            ("MAMORI__A__NAMES".to_string(), "x, y".to_string()),
            ("OTHER".to_string(), "1".to_string()),
        ];
        let layers = Layers::read(&[], env, &["a.names"]).unwrap();
        let mut r = Report::default();
        let a: Section = layers.section("a", &mut r);
        assert!(r.is_ok(), "{r}");
        assert_eq!(a.port, 587);
        assert_eq!(a.names.len(), 2);
    }
}
