use super::*;

#[test]
fn locations_count_lines_and_characters() {
    let text = "ab\ncdé\nf";
    assert_eq!(
        Location::of_offset(text, 0),
        Location { line: 1, column: 1 }
    );
    assert_eq!(
        Location::of_offset(text, 3),
        Location { line: 2, column: 1 }
    );
    // "é" is two bytes; the offset after it is the third character.
    assert_eq!(
        Location::of_offset(text, 7),
        Location { line: 2, column: 4 }
    );
    assert_eq!(
        Location::of_offset(text, 8),
        Location { line: 3, column: 1 }
    );
    assert_eq!(
        Location::of_offset(text, 999),
        Location { line: 3, column: 2 }
    );
    // Inside "é": clamped back to its start.
    assert_eq!(
        Location::of_offset(text, 6),
        Location { line: 2, column: 3 }
    );
    assert_eq!(
        Location::of_line_and_byte_column(text, 2, 5),
        Location { line: 2, column: 4 }
    );
}

#[test]
fn the_source_is_the_nested_error() {
    use std::error::Error as _;
    let quota = QuotaError::Zero { field: "limit" };
    let e = PolicyError::from(PolicyErrorKind::Quota {
        tier: "standard".into(),
        error: quota.clone(),
    });
    assert_eq!(e.source().map(ToString::to_string), Some(quota.to_string()));
    let name = crate::role::CustomRoleName::new("Lead").unwrap_err();
    let e = PolicyError::from(PolicyErrorKind::CustomRoleName {
        index: 0,
        error: name.clone(),
    });
    assert_eq!(e.source().map(ToString::to_string), Some(name.to_string()));
    assert!(
        PolicyError::from(PolicyErrorKind::NoActions)
            .source()
            .is_none()
    );
}

#[test]
fn paths_are_followed_as_far_as_they_go() {
    use Step::{Equal, Index, Key};
    let text = "{\n  \"name\": \"x, [y]\",\n  \"actions\": [\n    {\"id\": \"a.b\"},\n    {\"id\": \"c.d\", \"x\": [\"y\", 2, \"y\"]},\n    {\"id\": \"e\\\"f\"}\n  ],\n  \"quotas\": {\"standard\": {\"limit\": 0}}\n}";
    let at = |path: &[Step<'_>]| locate(text, path).map(|l| (l.line, l.column));
    assert_eq!(at(&[Key("actions"), Index(0)]), Some((4, 5)));
    assert_eq!(at(&[Key("actions"), Index(1), Key("id")]), Some((5, 12)));
    assert_eq!(at(&[Key("actions"), Index(2), Key("id")]), Some((6, 12)));
    assert_eq!(
        at(&[Key("actions"), Index(1), Key("x"), Equal("y", 0)]),
        Some((5, 25))
    );
    assert_eq!(
        at(&[Key("actions"), Index(1), Key("x"), Equal("y", 1)]),
        Some((5, 33))
    );
    // A step that is not there leaves the location at the last one that is.
    assert_eq!(at(&[Key("actions"), Index(3)]), Some((3, 14)));
    assert_eq!(at(&[Key("custom_roles"), Index(0)]), Some((1, 1)));
    assert_eq!(at(&[Key("name")]), Some((2, 11)));
    assert_eq!(
        at(&[Key("quotas"), Key("standard"), Key("limit")]),
        Some((8, 36))
    );
    assert_eq!(at(&[]), None);
    assert_eq!(locate("not json", &[Key("name")]), None);
    assert_eq!(offset_in(text, "elsewhere"), None);
}
