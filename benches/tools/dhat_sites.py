# Per-service heap by allocation site from a `valgrind --tool=dhat` JSON file:
#   python3 benches/tools/dhat_sites.py dhat.json N
# "live" = still allocated when the process ended (run the child with --phase start, so that
# is the running state), "total" = everything allocated. Divided by N.
import json, sys, re, collections
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
ftbl = d["ftbl"]
def label(pp):
    # first frame that is not an allocator/alloc-crate wrapper
    names = [ftbl[i] for i in pp["fs"]]
    keep = []
    for s in names:
        m = re.search(r": (.*?) \(", s)
        f = m.group(1) if m else s
        if any(x in f for x in ["alloc::alloc", "__rust_alloc", "malloc", "memalign", "stats_alloc", "alloc::raw_vec", "RawVec", "exchange_malloc", "alloc::boxed::Box<T>::new", "Box<T,A>::new","__rustc", "realloc", "calloc", "<alloc::", "alloc::sync::Arc<T>::new", "Arc<T,A>::new", "try_allocate", "finish_grow", "grow_one", "reserve", "Vec<T,A>::push", "with_capacity"]):
            continue
        keep.append(f[:110])
        if len(keep) == 3: break
    return " <- ".join(keep)
agg = collections.defaultdict(lambda: [0,0,0,0])
for pp in d["pps"]:
    k = label(pp)
    a = agg[k]; a[0]+=pp["tb"]; a[1]+=pp["tbk"]; a[2]+=pp.get("eb",0); a[3]+=pp.get("ebk",0)
rows = sorted(agg.items(), key=lambda kv: -kv[1][2])
print("live B/svc  live blk/svc  total B/svc  total blk/svc  site")
for k,(tb,tbk,eb,ebk) in rows[:25]:
    if tb/n < 2: continue
    print(f"{eb/n:9.1f} {ebk/n:10.3f} {tb/n:11.1f} {tbk/n:10.3f}   {k}")
