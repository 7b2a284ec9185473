//! Every input that once crashed the fuzzer (`tests/fuzz_regressions/*.bin`) runs through the
//! same harness and must pass.
mod fuzz_harness;

#[test]
fn committed_fuzz_crashes_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            fuzz_harness::run(&std::fs::read(&path).unwrap());
            count += 1;
        }
    }
    assert!(count >= 1, "no regression inputs in {}", dir.display());
}
