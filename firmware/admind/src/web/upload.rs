//! Reading a `multipart/form-data` form (a page with a file input): every field's name,
//! file name and bytes, within the route's body limit and a bound on the number of fields.

use axum::extract::Multipart;

/// The most fields a form may have.
const MAX_FIELDS: usize = 16;

/// One field of a form.
pub(crate) struct Field {
    /// Its name.
    pub name: String,
    /// The file's name, for a file input.
    pub file_name: Option<String>,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// A form's fields, by name.
pub(crate) struct Fields(Vec<Field>);

impl Fields {
    /// No fields (a form that could not be read).
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// The text of field `name` (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|f| f.name == name)
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .unwrap_or_default()
    }

    /// The file of field `name`, if one was chosen.
    pub fn file(&self, name: &str) -> Option<&Field> {
        self.0
            .iter()
            .find(|f| f.name == name && !f.bytes.is_empty())
    }
}

/// Reads every field; `Err` when the body is larger than the route allows, is not
/// multipart, or has more than [`MAX_FIELDS`] fields.
pub(crate) async fn read(mut multipart: Multipart) -> Result<Fields, ()> {
    let mut out = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|_| ())? {
        if out.len() >= MAX_FIELDS {
            return Err(());
        }
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(|_| ())?.to_vec();
        out.push(Field {
            name,
            file_name,
            bytes,
        });
    }
    Ok(Fields(out))
}
