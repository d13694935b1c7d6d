//! Compile-fail and compile-pass cases for lifecycle's macros.
//!
//! Regenerate the `.stderr` files on the pinned toolchain with
//! `TRYBUILD=overwrite cargo test -p lifecycle-ui-tests`, then read every one.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/fail/*.rs");
    cases.pass("tests/pass/*.rs");
}
