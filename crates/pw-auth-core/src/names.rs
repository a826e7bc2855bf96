//! The "expected one of …" lists in error messages and help, made from the `ALL`
//! lists (`Role::ALL`, `Level::ALL`, `Tier::ALL`, `Feature::ALL`) so that a new name
//! cannot be left out of them.

/// `names` as "`a`, `b`, `c`".
pub(crate) fn one_of(names: impl IntoIterator<Item = &'static str>) -> String {
    let mut out = String::new();
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('`');
        out.push_str(name);
        out.push('`');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::one_of;

    #[test]
    fn names_are_quoted_and_separated_by_commas() {
        assert_eq!(one_of(["a"]), "`a`");
        assert_eq!(one_of(["a", "b-c", "d"]), "`a`, `b-c`, `d`");
        assert_eq!(one_of([]), "");
    }
}
