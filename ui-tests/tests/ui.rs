//! Compile-fail and compile-pass cases for lifecycle's macros.
//!
//! Regenerate the `.stderr` files on the pinned toolchain with
//! `TRYBUILD=overwrite cargo test -p lifecycle-ui-tests`, then read every one.
//!
//! `pending/` holds cases the macros do not handle yet (see `REVIEW.md`): `pending/fail/`
//! compiles but should not, `pending/pass/` should compile but does not. They are not part of
//! the suite; `LIFECYCLE_UI_PENDING=1 cargo test -p lifecycle-ui-tests` runs them too, to
//! check a fix in `lifecycle-derive`. Move a case into `tests/` once it behaves.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/fail/*.rs");
    cases.pass("tests/pass/*.rs");
    if std::env::var_os("LIFECYCLE_UI_PENDING").is_some() {
        cases.compile_fail("pending/fail/*.rs");
        cases.pass("pending/pass/*.rs");
    }
}
