#!/usr/bin/env python3
"""classify.py PERF.DATA RATE SECONDS HZ [LOADGEN]

Buckets the self samples of a system-wide `perf record -a -e cpu-clock -F HZ`
profile, SECONDS long, taken while a load ran at RATE requests per second, and
prints CPU µs per request for the server (comm bsrv), the load generator (comm
LOADGEN, default wrk) and everything else. Buckets:

  k:net       kernel TCP/IP, socket layer, copies, skb allocation
  k:spin      spinlocks (with timer sampling: time with irqs off, billed
              where they are re-enabled; mostly waking the peer)
  k:sysc      syscall entry/exit, VFS/fd layer, epoll, futex, scheduler,
              signal delivery (io_uring task work runs from there)
  k:io_uring  io_uring's own code (submission, task work, completions)
  k:other     every other kernel symbol (timers, irqs, memory management)
  u:ringnet   ringnet's packages
  u:gosched   Go's scheduler, channels, netpoller and sysmon
  u:gosys     Go's syscall wrappers (syscall, internal/poll, x/sys/unix)
  u:gc        Go's garbage collector
  u:app       all other user code: net/http, the handler, malloc, memmove
"""
import collections
import re
import subprocess
import sys

data, rate, secs, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
loadgen = sys.argv[5] if len(sys.argv) > 5 else "wrk"

KERNEL = [  # first match wins
    ("io_uring", r"^(io_|__io_|tctx_|task_work|io_uring)"),
    ("net", r"(tcp|^ip_|skb|__dev_|^dev_|loopback|netif|net_rx|napi|process_backlog|copy_user|_copy_to_iter"
            r"|_copy_from_iter|^sock_|^sk_|release_sock|lock_sock|inet|kmalloc|kfree|kmem_cache|slab|memcg"
            r"|__sys_sendto|__sys_recvfrom|iov_iter|bbr|__check_object|check_heap|page_|__alloc|free_"
            r"|validate_xmit|eth_|nf_|raw_local|__netif|dst_|fib|__inet|csum|rcu_)"),
    ("spin", r"(_raw_spin|queued_spin|native_queued)"),
    ("sysc", r"(entry_SYSCALL|do_syscall|exit_to_user|syscall_exit|__x64_sys|ksys_|vfs_|rw_verify|fdget|fput"
             r"|__fget|fget|security_|fsnotify|epoll|^ep_|futex|schedule|finish_task_switch|try_to_wake|ttwu"
             r"|_fair|enqueue_|dequeue_|update_curr|update_load|__switch_to|psi_|hrtimer|nanosleep|sched_|fpu"
             r"|rseq|srso|untrain|clear_bhb|get_signal|arch_do_signal|signal|__wake_up|wake_up|pick_next"
             r"|set_next|put_prev|select_task|switch_mm|irqentry|asm_sysvec|sysvec|restore_fpregs)"),
]
USER = [  # first match wins
    ("ringnet", r"ringnet"),
    ("gosched", r"runtime\.(gopark|goready|ready|schedule|findRunnable|park_m|mcall|casgstatus|chansend|chanrecv"
                r"|send|recv|lock2|unlock2|runqget|runqput|runqsteal|netpoll|wakep|startm|stopm|notesleep"
                r"|notewakeup|futex|goexit|gosched|injectglist|checkTimers|stealWork|selectgo|selectnbsend"
                r"|entersyscall|exitsyscall|reentersyscall|execute|resetspinning|nanotime|sysmon|usleep|osyield"
                r"|procyield|runqgrab|pidleget|pidleput|mPark|acquirep|releasep|handoffp|forEachP)"),
    ("gosys", r"(^syscall\.|internal/runtime/syscall|internal/poll|golang.org/x/sys|os\.)"),
    ("gc", r"runtime\.(gcBgMark|gcDrain|scanobject|greyobject|markBits|findObject|scanblock|bgsweep|sweepone"
           r"|mspan|gcMark|wbBuf|bulkBarrier|heapBits|typePointers|tryDeferToSpanScan|spanSet|gcWork|scanSpan"
           r"|gcFlush|markroot|scanstack|.*[Ss]can)"),
]

out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,sym", "--stdio",
                      "-g", "none", "--percent-limit", "0", "-F", "sample,comm,dso,sym"],
                     capture_output=True, text=True, check=True).stdout
res = collections.defaultdict(collections.Counter)
for line in out.splitlines():
    m = re.match(r"\s*(\d+)\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
    if not m:
        continue
    n, comm, kind, sym = int(m.group(1)), m.group(2), m.group(4), m.group(5).strip()
    proc = "bsrv" if comm == "bsrv" else "loadgen" if comm == loadgen else "other"
    table, prefix = (KERNEL, "k:") if kind == "k" else (USER, "u:")
    bucket = next((prefix + name for name, rx in table if re.search(rx, sym)),
                  "k:other" if kind == "k" else "u:app")
    res[proc][bucket] += n
reqs = rate * secs
for proc in ("bsrv", "loadgen", "other"):
    us = lambda n: n / hz / reqs * 1e6
    print(f"{proc}: {us(sum(res[proc].values())):.2f} us/req  ("
          + ", ".join(f"{k} {us(v):.2f}" for k, v in sorted(res[proc].items())) + ")")
