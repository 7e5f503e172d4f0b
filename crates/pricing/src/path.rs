//! JSON paths (`quote.offerings[0].items[1].quantity`): how errors name the
//! field at fault, rendered to text only when an error needs it.

/// A JSON path, rendered to text only when an error needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    /// A path given as text (`quote.offerings`).
    Text(&'a str),
    /// `parent.key`.
    Key(&'a Path<'a>, &'a str),
    /// `parent[index]`.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Text(t) => f.write_str(t),
            Path::Key(parent, key) => f.write_str(&join_path(&parent.to_string(), key)),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Anything that names a JSON path: text, or a path rendered only when an
/// error needs it.
pub trait AsPath {
    /// The path as text (`quote.offerings[0].items[1].quantity`).
    fn render(&self) -> String;
}

impl AsPath for str {
    fn render(&self) -> String {
        self.to_owned()
    }
}

impl AsPath for String {
    fn render(&self) -> String {
        self.clone()
    }
}

impl AsPath for Path<'_> {
    fn render(&self) -> String {
        self.to_string()
    }
}

/// `a.b` (or `a[0]` when `b` starts with a bracket); either side may be empty.
pub(crate) fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_owned()
    } else if path.is_empty() {
        prefix.to_owned()
    } else if path.starts_with('[') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}.{path}")
    }
}
