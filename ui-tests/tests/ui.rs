//! Compile-fail and compile-pass cases for lifecycle's macros.
//!
//! Regenerate the `.stderr` files on the pinned toolchain with
//! `TRYBUILD=overwrite cargo test -p lifecycle-ui-tests`, then read every one.
//!
//! `pending/` holds cases the macros do not reject yet (see `REVIEW.md`); they are not part
//! of the suite. `LIFECYCLE_UI_PENDING=1 cargo test -p lifecycle-ui-tests` runs them too, to
//! check whether a fix in `lifecycle-derive` makes them fail with a good message; move a
//! case into `tests/fail/` once it does.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/fail/*.rs");
    cases.pass("tests/pass/*.rs");
    if std::env::var_os("LIFECYCLE_UI_PENDING").is_some() {
        cases.compile_fail("pending/*.rs");
    }
}
