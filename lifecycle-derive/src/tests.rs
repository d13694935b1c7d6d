//! Expansion-level tests: which inputs are rejected, with which message, and that a
//! best-effort expansion is still emitted beside the errors. (What compiles is tested through
//! real registries in the `lifecycle-tests` crate.)

use proc_macro2::TokenStream;
use quote::quote;

fn service(input: TokenStream) -> String {
    crate::service::derive(&syn::parse2(input).expect("test input parses")).to_string()
}

fn tasks(args: TokenStream, input: TokenStream) -> String {
    crate::tasks::tasks(args, &input).to_string()
}

fn registry(input: TokenStream) -> String {
    crate::registry::derive(&syn::parse2(input).expect("test input parses")).to_string()
}

fn errors(expansion: &str) -> usize {
    expansion.matches("compile_error").count()
}

#[track_caller]
fn assert_error(expansion: &str, message: &str) {
    // `to_string` escapes quotes inside the error literals.
    let needle = message.replace('"', "\\\"");
    assert!(
        expansion.contains(&needle),
        "expected an error containing {message:?} in:\n{expansion}"
    );
}

#[test]
fn a_valid_service_has_no_errors() {
    let out = service(quote! {
        #[service(name = "db", start_timeout = "none", stop_timeout = "250ms", hook_timeout = "1h30m",
                  escalation = "stop_dependents", tasks, crate = ::my::lc)]
        struct Db<T: Clone> where T: Send {
            #[depends_on] a: Arc<A>,
            #[service(default = "verbatim")] s: &'static str,
            t: T,
        }
    });
    assert_eq!(errors(&out), 0, "{out}");
    assert!(out.contains(":: my :: lc :: Service for Db < T >"), "{out}");
    assert!(out.contains("no_start_timeout ()"), "{out}");
    assert!(out.contains("from_millis (250)"), "{out}");
    assert!(out.contains("from_secs (5400)"), "{out}");
    assert!(
        out.contains("\"verbatim\""),
        "a string default stays a string: {out}"
    );
    assert!(out.contains("const _ : () ="), "{out}");
    assert!(out.contains("automatically_derived"), "{out}");
}

#[test]
fn bad_durations_are_reported_at_once_with_a_best_effort_expansion() {
    let out = service(quote! {
        #[service(stop_timeout = "30", start_timeout = 5, hook_timeout = "30 sec", tasks)]
        struct S {}
    });
    assert_eq!(errors(&out), 3, "{out}");
    assert_error(&out, "duration `30` has no unit: write `\"30s\"`");
    assert_error(&out, "durations are strings with a unit: write `\"5s\"`");
    assert_error(&out, "unknown unit at ` sec`");
    // The good option (`tasks`) survived: the impl still delegates to the tasks block.
    assert!(out.contains("TaskBlock"), "{out}");
    assert!(
        out.contains("impl :: lifecycle_core :: Service for S"),
        "{out}"
    );
}

#[test]
fn more_bad_durations() {
    for (text, message) in [
        ("-1s", "cannot be negative"),
        ("", "empty duration"),
        ("99999999999999h", "too large"),
        ("1s1h", "largest to smallest"),
    ] {
        let out = service(quote!(
            #[service(stop_timeout = #text)]
            struct S {}
        ));
        assert_error(&out, message);
    }
    let out = service(quote!(
        #[service(hook_timeout = "0s", start_timeout = "0ms")]
        struct S {}
    ));
    assert_error(&out, "`hook_timeout` must be greater than zero");
    assert_error(&out, "`start_timeout` must be greater than zero");
}

#[test]
fn unknown_options_suggest_the_closest() {
    let out = service(quote!(
        #[service(escalaton = "stop_dependents")]
        struct S {}
    ));
    assert_error(&out, "Did you mean `escalation`?");
    let out = service(quote!(
        #[service(escalation = "stop_dependent")]
        struct S {}
    ));
    assert_error(&out, "stop_dependents");
    let out = tasks(
        quote!(),
        quote! {
            impl S { #[background_task(evry = "1s")] async fn t(&self) {} }
        },
    );
    assert_error(&out, "Did you mean `every`?");
}

#[test]
fn only_named_structs_are_services() {
    for (input, what) in [
        (
            quote!(
                enum E {
                    A,
                }
            ),
            "is an enum",
        ),
        (quote!(union U { a: u32 }), "is a union"),
        (
            quote!(
                struct T(u32);
            ),
            "is a tuple struct",
        ),
    ] {
        let out = service(input);
        assert_error(&out, what);
        // Still emits a stub so registries using the type do not cascade.
        assert!(out.contains("FromRegistry"), "{out}");
    }
}

#[test]
fn a_dependency_cannot_have_a_default() {
    let out = service(quote!(
        struct S {
            #[depends_on]
            #[service(default = x())]
            a: Arc<A>,
        }
    ));
    assert_error(&out, "cannot have a `default`");
}

#[test]
fn receivers_other_than_ref_self_are_rejected() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[on_start] async fn a(&mut self) {}
                #[on_stop] async fn b(self) {}
                #[health] async fn c(mut self) -> bool { true }
                #[background_task] async fn d(self: &mut Self) {}
                #[background_task] async fn e(self: Box<Self>) {}
                #[background_task] async fn f() {}
                #[background_task] async fn g(self: &Self) {}
            }
        },
    );
    assert_error(&out, "an `#[on_start]` hook cannot take `&mut self`");
    assert_error(&out, "an `#[on_stop]` hook cannot take `self` by value");
    assert_error(&out, "a `#[health]` check cannot take `mut self`");
    assert_error(&out, "cannot take `self: &mut Self`");
    assert_error(&out, "must take `&self`, not `self: Box<Self>`");
    assert_error(&out, "must be a method taking `&self`");
    assert_eq!(errors(&out), 6, "`self: &Self` is accepted: {out}");
    // Invalid methods get no adapter; the valid one is spawned.
    assert!(out.contains("Self :: g"), "{out}");
    assert!(!out.contains("Self :: d"), "{out}");
}

#[test]
fn task_shapes_are_checked() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task] fn not_async(&self) {}
                #[background_task(blocking)] async fn blocking_async(&self) {}
                #[background_task] async fn three(&self, a: Shutdown, b: u32) {}
                #[background_task] async fn generic<T>(&self) {}
                #[background_task] unsafe fn unsafe_fn(&self) {}
            }
        },
    );
    assert_error(
        &out,
        "must be an `async fn` (or return `impl Future`), or a plain `fn` marked `#[background_task(blocking)]`",
    );
    assert_error(&out, "remove `async`, or remove `blocking`");
    assert_error(&out, "at most one more parameter, the `Shutdown` handle");
    assert_error(&out, "cannot have generic parameters");
    assert_error(&out, "cannot be `unsafe`");
}

#[test]
fn task_kind_is_chosen_by_arity() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task] async fn with_handle(&self, whatever_name: SomeAlias) {}
                #[background_task] async fn without(&self) {}
            }
        },
    );
    assert_eq!(errors(&out), 0, "{out}");
    // Only the arity-1 task is cancelled by dropping its future.
    assert_eq!(out.matches("Cancel :: Drop").count(), 1, "{out}");
    assert!(
        out.contains(
            "TaskSpec :: new (\"without\") . cancel (:: lifecycle_core :: Cancel :: Drop)"
        ),
        "{out}"
    );
}

#[test]
fn task_options_are_cross_checked() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task(max_restarts = 3)] async fn a(&self) {}
                #[background_task(within = "1s")] async fn b(&self) {}
                #[background_task(backoff = "10s", max_backoff = "1s")] async fn c(&self) {}
                #[background_task(every = "0s")] async fn d(&self) {}
                #[background_task(restart = "on_failure", max_restarts = 1, within = "0s")] async fn e(&self) {}
                #[background_task(backoff = "0ms")] async fn f(&self) {}
                #[background_task(initial_delay = "1s")] async fn g(&self) {}
                #[background_task(jitter = 1.5)] async fn h(&self) {}
                #[background_task(restart = "never", max_restarts = 2)] async fn i(&self) {}
                #[background_task(restart = "sometimes")] async fn j(&self) {}
                #[background_task(every = 30)] async fn k(&self) {}
                #[background_task(name = "a")] async fn l(&self) {}
            }
        },
    );
    assert_error(
        &out,
        "`max_restarts` limits restarts: add `restart = \"on_failure\"`",
    );
    assert_error(&out, "`within` is the window of `max_restarts`");
    assert_error(&out, "`max_backoff` (1s) is smaller than `backoff` (10s)");
    assert_error(&out, "`every` must be greater than zero");
    assert_error(&out, "`within` must be greater than zero");
    assert_error(&out, "`backoff` must be greater than zero");
    assert_error(
        &out,
        "`initial_delay` delays the first run of a periodic task",
    );
    assert_error(&out, "`jitter` is a fraction between 0.0 and 1.0");
    assert_error(&out, "no effect with `restart = \"never\"`");
    assert_error(
        &out,
        "unknown `restart` value \"sometimes\": expected one of \"never\", \"on_failure\", \"always\"",
    );
    assert_error(&out, "durations are strings with a unit: write `\"30s\"`");
    assert_error(&out, "two tasks of this service are named `a`");
}

#[test]
fn a_full_task_spec_is_generated() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task(every = "30s", initial_delay = "5s", restart = "always", max_restarts = 5,
                                  within = "1m", backoff = "1s", max_backoff = "1m", jitter = 0.0, name = "x")]
                async fn t(&self, s: Shutdown) -> anyhow::Result<()> { Ok(()) }
            }
        },
    );
    assert_eq!(errors(&out), 0, "{out}");
    assert!(
        out.contains(
            "TaskSpec :: periodic (\"x\" , :: core :: time :: Duration :: from_secs (30)) . initial_delay (:: core :: time :: Duration :: from_secs (5)) . restart (:: lifecycle_core :: Restart :: Always) . max_restarts (5 , :: core :: time :: Duration :: from_secs (60)) . backoff (:: core :: time :: Duration :: from_secs (1) , :: core :: time :: Duration :: from_secs (60)) . jitter (0.0)"
        ),
        "{out}"
    );
}

#[test]
fn hooks_are_checked() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[on_start] async fn a(&self) {}
                #[on_start] async fn b(&self) {}
                #[on_stop(timeout = "1s")] async fn c(&self) {}
                #[health] async fn d(&self, x: u32) -> bool { true }
                #[on_stop] #[health] async fn e(&self) {}
            }
        },
    );
    assert_error(
        &out,
        "only one `#[on_start]` per service: `a` is one already",
    );
    assert_error(&out, "an `#[on_stop]` hook takes no options");
    assert_error(&out, "a `#[health]` check takes only `&self`");
    assert_error(&out, "a method has at most one role");
    // Our attributes are consumed; the methods are re-emitted.
    assert!(!out.contains("# [on_start]"), "{out}");
    assert!(out.contains("async fn b"), "{out}");
}

#[test]
fn the_tasks_attribute_goes_on_inherent_impls() {
    let out = tasks(quote!(), quote!(impl Trait for S { fn f(&self) {} }));
    assert_error(&out, "not on a trait impl");
    let out = tasks(
        quote!(),
        quote!(
            fn f() {}
        ),
    );
    assert_error(&out, "goes on an inherent impl block");
    assert!(out.contains("fn f"), "the item is kept: {out}");
    let out = tasks(quote!(crat = x), quote!(impl S {}));
    assert_error(&out, "Did you mean `crate`?");
}

#[test]
fn untouched_items_are_re_emitted() {
    let out = tasks(
        quote!(),
        quote! {
            impl<T: Clone> S<T> where T: Send {
                const C: u32 = 1;
                #[inline] fn helper(&self) -> u32 { 1 }
                #[on_start] async fn start(&self) {}
            }
        },
    );
    assert_eq!(errors(&out), 0, "{out}");
    assert!(out.contains("const C : u32 = 1"), "{out}");
    assert!(out.contains("# [inline] fn helper"), "{out}");
    assert!(out.contains("assert_declares_tasks :: < Self >"), "{out}");
    assert!(
        out.contains("TaskBlock for S < T > where T : Send , Self"),
        "{out}"
    );
}

#[test]
fn registry_shapes_and_fields_are_checked() {
    let out = registry(quote!(
        struct R<T> {
            a: T,
        }
    ));
    assert_error(&out, "a registry cannot be generic");
    let out = registry(quote!(
        struct R(A);
    ));
    assert_error(&out, "is a tuple struct");
    let out = registry(quote!(
        enum R {
            A,
        }
    ));
    assert_error(&out, "is an enum");
    let out = registry(quote!(
        struct R {
            options: A,
            build: B,
            #[value]
            #[instance]
            c: C,
            #[provide]
            d: D,
        }
    ));
    assert_error(&out, "cannot be named `options`");
    assert_error(&out, "cannot be named `build`");
    assert_error(&out, "either `#[value]` or `#[instance]`");
    assert_error(&out, "`#[provide(dyn Trait)]`");
}

#[test]
fn a_valid_registry_has_one_provide_impl_per_field_and_key() {
    let out = registry(quote! {
        pub struct Platform {
            #[value] config: Config,
            db: Database,
            #[provide(dyn Cache, dyn Store)] cache: MemoryCache,
            #[instance] legacy: Legacy,
        }
    });
    assert_eq!(errors(&out), 0, "{out}");
    assert_eq!(
        out.matches("impl :: lifecycle_core :: Provide <").count(),
        6,
        "{out}"
    );
    assert!(out.contains("pub struct PlatformBuilder"), "{out}");
    assert!(out.contains("pub struct PlatformServices"), "{out}");
    assert!(out.contains("pub struct PlatformSlots"), "{out}");
    assert!(out.contains("add_value :: < Config >"), "{out}");
    assert!(out.contains("provide :: < dyn Cache , _ >"), "{out}");
    assert!(out.contains("missing_instance (\"legacy\")"), "{out}");
}

#[test]
fn marker_attributes_outside_a_tasks_block_explain_what_to_add() {
    let out = crate::outside_tasks_block_message("background_task");
    assert!(out.contains("add `#[lifecycle_core::tasks]`"), "{out}");
}

#[test]
fn a_unit_struct_is_a_service_without_fields() {
    let out = service(quote!(
        struct U;
    ));
    assert_eq!(errors(&out), 0, "{out}");
    assert!(out.contains("FromRegistry"), "{out}");
}

#[test]
fn hooks_under_opposite_cfgs_are_alternatives() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[cfg(unix)] #[on_start] async fn a(&self) {}
                #[cfg(not(unix))] #[on_start] async fn b(&self) {}
                #[cfg(unix)] #[background_task(name = "t")] async fn c(&self) {}
                #[cfg(not(unix))] #[background_task(name = "t")] async fn d(&self) {}
            }
        },
    );
    // No error now: a `compile_error!` gated on both conditions holding at once.
    assert_eq!(errors(&out), 2, "{out}");
    assert!(out.contains("# [cfg (all (unix , not (unix)))]"), "{out}");
}

#[test]
fn cfg_attr_roles_are_recognised() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[cfg_attr(feature = "x", on_start, inline)] fn a(&self) {}
                #[cfg_attr(unix, background_task(every = "1s"))] async fn b(&self) {}
            }
        },
    );
    assert_eq!(errors(&out), 0, "{out}");
    assert!(
        out.contains("# [cfg_attr (feature = \"x\" , inline)]"),
        "{out}"
    );
    assert!(out.contains("# [cfg (all (unix))]"), "{out}");
}

#[test]
fn registry_names_are_unraw_and_renamable() {
    let out = registry(quote! {
        #[registry(builder = Parts, services = "Shared")]
        struct r#struct { a: A }
    });
    assert_eq!(errors(&out), 0, "{out}");
    assert!(
        out.contains("const NAME : & 'static str = \"struct\""),
        "{out}"
    );
    assert!(out.contains("struct Parts"), "{out}");
    assert!(out.contains("struct Shared"), "{out}");
    assert!(out.contains("type Parts ="), "{out}");
    assert!(out.contains("type Shared ="), "{out}");
    assert!(
        out.contains("Parts :: __lifecycle_generated_builder_of :: < r#struct >"),
        "{out}"
    );
}

#[test]
fn generated_types_are_defined_in_the_const_block_and_aliased_outside() {
    let out = registry(quote! {
        pub(crate) struct App { db: Database }
    });
    assert_eq!(errors(&out), 0, "{out}");
    // Module level: only the two aliases and the check that their names reach the generated
    // types; the structs (slots included) come after, inside the anonymous `const` block, so
    // a user type of the same name cannot take their impls.
    let block = out
        .find("const _ : () = { # [doc")
        .expect("the structs' const block");
    let (module, inside) = out.split_at(block);
    assert!(
        module.contains(
            "pub (crate) type AppBuilder = < App as :: lifecycle_core :: __private :: RegistryBuilder > :: Builder ;"
        ),
        "{out}"
    );
    assert!(
        module.contains(
            "pub (crate) type AppServices = < App as :: lifecycle_core :: Registry > :: Services ;"
        ),
        "{out}"
    );
    assert!(
        module.contains("AppBuilder :: __lifecycle_generated_builder_of :: < App >"),
        "{out}"
    );
    assert!(
        module.contains("AppServices :: __lifecycle_generated_services_of :: < App >"),
        "{out}"
    );
    for name in ["AppBuilder", "AppServices", "AppSlots"] {
        assert!(!module.contains(&format!("struct {name}")), "{out}");
        assert!(
            inside.contains(&format!("pub (crate) struct {name}")),
            "{out}"
        );
    }
    assert!(inside.contains("type Builder = AppBuilder ;"), "{out}");
    // The alias docs list what the unnameable structs offer (rustdoc shows only the alias).
    assert!(module.contains("`db(Database) -> Self`"), "{out}");
    assert!(module.contains("`pub db: Arc<Database>`"), "{out}");
}

#[test]
fn on_exit_is_generated_and_checked() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task(on_exit = "stop")] async fn a(&self) {}
                #[background_task(on_exit = "continue")] async fn b(&self) {}
            }
        },
    );
    assert_eq!(errors(&out), 0, "{out}");
    assert!(
        out.contains("on_exit (:: lifecycle_core :: OnExit :: Stop)"),
        "{out}"
    );
    assert!(
        out.contains("on_exit (:: lifecycle_core :: OnExit :: Continue)"),
        "{out}"
    );

    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task(on_exit = "stopp")] async fn a(&self) {}
                #[background_task(on_exit = stop)] async fn b(&self) {}
                #[background_task(every = "1s", on_exit = "stop")] async fn c(&self) {}
                #[background_task(restart = "always", on_exit = "stop")] async fn d(&self) {}
                #[background_task(on_exits = "stop")] async fn e(&self) {}
            }
        },
    );
    assert_error(
        &out,
        "unknown `on_exit` value \"stopp\": expected one of \"continue\", \"stop\"; did you mean \"stop\"?",
    );
    assert_error(&out, "`on_exit` is a string: write `on_exit = \"stop\"`");
    assert_error(&out, "a periodic task runs again at every tick");
    assert_error(&out, "with `restart = \"always\"` the task is restarted");
    assert_error(&out, "Did you mean `on_exit`");
    assert_eq!(errors(&out), 5, "{out}");
}

#[test]
fn on_reload_is_a_hook_like_on_start() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[on_reload] async fn reload(&self) -> anyhow::Result<()> { Ok(()) }
            }
        },
    );
    assert_eq!(errors(&out), 0, "{out}");
    assert!(out.contains("const HAS_RELOAD_HOOK : bool = true"), "{out}");
    assert!(out.contains("fn on_reload (& self)"), "{out}");
    assert!(
        !out.contains("HAS_START_HOOK"),
        "only the hooks it has: {out}"
    );
    assert!(!out.contains("# [on_reload]"), "{out}");

    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[on_reload] async fn a(&self) {}
                #[on_reload] async fn b(&self) {}
                #[on_reload(timeout = "1s")] async fn c(&self) {}
                #[on_reload] async fn d(&mut self) {}
                #[on_reload] async fn e(&self, x: u32) {}
                #[on_reload] #[on_start] async fn f(&self) {}
            }
        },
    );
    assert_error(
        &out,
        "only one `#[on_reload]` per service: `a` is one already",
    );
    assert_error(&out, "an `#[on_reload]` hook takes no options");
    assert_error(&out, "an `#[on_reload]` hook cannot take `&mut self`");
    assert_error(&out, "an `#[on_reload]` hook takes only `&self`");
    assert_error(&out, "a method has at most one role");

    let out = service(quote! {
        #[service(tasks)]
        struct S {}
    });
    // The derived `Service` follows the block's hooks (reload included) through one
    // constant: no overriding method, no `HAS_*` constant of its own.
    assert!(
        out.contains("const HOOKS : :: core :: option :: Option < :: lifecycle_core :: __private :: Hooks < Self >> = :: core :: option :: Option :: Some (< Self as :: lifecycle_core :: __private :: TaskBlock > :: HOOKS)"),
        "{out}"
    );
    assert!(
        !out.contains("fn on_reload") && !out.contains("HAS_"),
        "{out}"
    );
    let out = service(quote!(
        struct S {}
    ));
    assert!(
        out.contains("Option :: Some (:: lifecycle_core :: __private :: Hooks :: NONE)"),
        "no block, no hooks: {out}"
    );
    assert!(!out.contains("TaskBlock"), "no block, no reload: {out}");
}

#[test]
fn service_restart_policy_is_generated_and_checked() {
    let out = service(quote! {
        #[service(restart = "on_failure", max_restarts = 2, within = "30s", backoff = "500ms",
                  max_backoff = "4s", ready_in_backoff = true)]
        struct S {}
    });
    assert_eq!(errors(&out), 0, "{out}");
    assert!(
        out.contains(
            "restart (:: lifecycle_core :: ServiceRestart :: DEFAULT . max_restarts (2 , :: core :: time :: Duration :: from_secs (30)) . backoff (:: core :: time :: Duration :: from_millis (500) , :: core :: time :: Duration :: from_secs (4)))"
        ),
        "{out}"
    );
    assert!(out.contains("ready_in_backoff (true)"), "{out}");

    let out = service(quote! {
        #[service(restart = "on_failure", within = "10s", max_backoff = "5s")]
        struct S {}
    });
    assert_eq!(errors(&out), 0, "{out}");
    assert!(
        out.contains("max_restarts (:: lifecycle_core :: ServiceRestart :: DEFAULT . max_restarts , :: core :: time :: Duration :: from_secs (10))"),
        "omitted keys keep the defaults: {out}"
    );
    assert!(
        out.contains("backoff (:: lifecycle_core :: ServiceRestart :: DEFAULT . backoff , :: core :: time :: Duration :: from_secs (5))"),
        "{out}"
    );

    for input in [
        quote!(
            #[service(restart = "never")]
            struct S {}
        ),
        quote!(
            struct S {}
        ),
    ] {
        let out = service(input);
        assert_eq!(errors(&out), 0, "{out}");
        assert!(!out.contains("restart"), "`never` generates nothing: {out}");
    }

    let out = service(quote! {
        #[service(restart = "never", max_restarts = 2, within = "1s", backoff = "1s", max_backoff = "2s")]
        struct S {}
    });
    assert_error(
        &out,
        "`max_restarts` has no effect with `restart = \"never\"`",
    );
    assert_error(&out, "`within` has no effect with `restart = \"never\"`");
    assert_error(&out, "`backoff` has no effect with `restart = \"never\"`");
    assert_error(
        &out,
        "`max_backoff` has no effect with `restart = \"never\"`",
    );
    assert_eq!(errors(&out), 4, "{out}");

    let out = service(quote! {
        #[service(max_restarts = 2)]
        struct S {}
    });
    assert_error(
        &out,
        "`max_restarts` configures the service's restart policy: add `restart = \"on_failure\"`",
    );

    let out = service(quote! {
        #[service(restart = "on_failure", max_restarts = 2, within = "0s", backoff = "2s", max_backoff = "1s",
                  ready_in_backoff = "true")]
        struct S {}
    });
    assert_error(&out, "`within` must be greater than zero");
    assert_error(&out, "`max_backoff` (1s) is smaller than `backoff` (2s)");
    assert_error(
        &out,
        "`ready_in_backoff` is a boolean, not a string: write `ready_in_backoff = true`",
    );
    assert_eq!(errors(&out), 3, "{out}");

    let out = service(quote! {
        #[service(restart = "on_failur", max_restart = 2)]
        struct S {}
    });
    assert_error(&out, "did you mean \"on_failure\"?");
    assert_error(&out, "Did you mean `max_restarts`");
    let out = service(quote! {
        #[service(restart = "on_falure", max_restarts = 2, backoff = "1s")]
        struct S {}
    });
    assert_eq!(
        errors(&out),
        1,
        "no cascade from an invalid `restart`: {out}"
    );
    assert!(
        out.contains("max_restarts (2"),
        "best-effort expansion: {out}"
    );
    let out = service(quote! {
        #[service(restart = on_failure)]
        struct S {}
    });
    assert_error(
        &out,
        "`restart` is a string: write `restart = \"on_failure\"` (one of \"never\", \"on_failure\")",
    );
}

#[test]
fn key_lists_match_the_parsers() {
    use darling::FromMeta as _;
    let parse = |key: &str| -> darling::ast::NestedMeta {
        let key = syn::Ident::new(key, proc_macro2::Span::call_site());
        syn::parse_quote!(#key = "x")
    };
    for key in crate::common::SERVICE_KEYS {
        let error = crate::service::attr::ContainerAttr::from_list(&[parse(key)]).err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(!text.contains("Unknown field"), "{key}: {text}");
    }
    for key in crate::common::TASK_KEYS {
        let error = crate::tasks::attr::TaskAttr::from_list(&[parse(key)]).err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(!text.contains("Unknown field"), "{key}: {text}");
    }
    let error = crate::service::attr::ContainerAttr::from_list(&[parse("on_exit")]).err();
    assert!(error.is_some_and(|e| e.to_string().contains("Unknown field")));
}

#[test]
fn options_of_the_other_attribute_say_where_they_go() {
    let out = service(quote! {
        #[service(on_exit = "stop", jitter = 0.1)]
        struct S {}
    });
    assert_error(&out, "`on_exit` is an option of `#[background_task(…)]`");
    assert_error(&out, "`jitter` is an option of `#[background_task(…)]`");
    assert_eq!(errors(&out), 2, "{out}");
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task(escalation = "stop_dependents", ready_in_backoff = true)]
                async fn a(&self) {}
            }
        },
    );
    assert_error(
        &out,
        "`escalation` is an option of the struct's `#[service(…)]`",
    );
    assert_error(
        &out,
        "`ready_in_backoff` is an option of the struct's `#[service(…)]`",
    );
    assert_eq!(errors(&out), 2, "{out}");
    let out = service(quote! {
        #[service(restart = "always")]
        struct S {}
    });
    assert_error(
        &out,
        "a service is restarted only when one of its tasks fails",
    );
}

#[test]
fn an_invalid_restart_does_not_cascade_into_max_restarts() {
    let out = tasks(
        quote!(),
        quote! {
            impl S {
                #[background_task(restart = "on_falure", max_restarts = 2)]
                async fn a(&self) {}
            }
        },
    );
    assert_error(&out, "did you mean \"on_failure\"?");
    assert_eq!(errors(&out), 1, "{out}");
}
