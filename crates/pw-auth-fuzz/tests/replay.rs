//! Every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through its
//! harness, on stable, in every test run.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn every_corpus_and_regression_file_passes_its_harness() {
    let mut total = 0;
    for target in pw_auth_fuzz::TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(target));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{target}/ has no seed files"
        );
        let regressions = files(&fuzz_dir().join("regressions").join(target));
        for file in corpus.iter().chain(&regressions) {
            let data = std::fs::read(file).unwrap();
            if let Err(v) = pw_auth_fuzz::run(target, &data).unwrap() {
                panic!("{}: {v}", file.display());
            }
            total += 1;
        }
    }
    assert!(total >= 20, "only {total} corpus files");
}

#[test]
fn unknown_targets_are_none() {
    assert!(pw_auth_fuzz::run("nope", b"").is_none());
}
