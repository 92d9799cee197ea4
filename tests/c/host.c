/*
 * host.c: plays ws2_32.dll for the loopback provider DLL
 * (examples/loopback_provider.rs) and checks the contract of README.md
 * beside this file through the real ABI: WSPStartup, the WSPPROC_TABLE,
 * a recording WSPUPCALLTABLE, and the DLL's WSPSetCompletionUpcall.
 *
 * Linux:   cc -std=c11 -Wall -Wextra -Werror -o host host.c peers.c -ldl -lpthread
 * Windows: x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -o host.exe host.c
 *          (no ws2_32 import: this program IS ws2_32 for the provider)
 * Run:     host <path of the provider DLL>
 *          host <path of the system provider DLL> --system
 *            (Linux: examples/system_provider.rs over the host's sockets,
 *            checked with real peers this program starts, peers.c)
 *          host <base DLL> [--system] --layer <layer DLL> [--layer <layer DLL>]
 *            (a stack: each --layer goes on top of what is below it; the
 *            host writes the catalog each layer resolves its chain in,
 *            with WSPAddCatalogEntry, and drives the top layer through
 *            the same checks, plus the layered ones)
 *
 * Each check is a function named after the rule it proves (the crate's manual::rules,
 * S1..S14), runs its own startup/cleanup, prints `ok <name>` or one
 * `FAIL <name>: <line> <expr> (got X, want Y)` per failed expectation, and
 * the run ends with `N checks, M failed`. Exit status 0 only if none failed.
 */
#ifndef _WIN32
#define _XOPEN_SOURCE 700 /* recursive mutexes under -std=c11 */
#endif
#include "ws2spi_abi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
typedef HMODULE lib_t;
static lib_t lib_open(const char *path) { return LoadLibraryA(path); }
static void *lib_sym(lib_t lib, const char *name)
{
    FARPROC f = GetProcAddress(lib, name);
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}
static const char *lib_error(void) { return "LoadLibraryA/GetProcAddress failed"; }
#else
#include <dlfcn.h>
typedef void *lib_t;
static lib_t lib_open(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
static void *lib_sym(lib_t lib, const char *name) { return dlsym(lib, name); }
static const char *lib_error(void)
{
    const char *e = dlerror();
    return e ? e : "dlopen/dlsym failed";
}
#endif

/* Threads and the host's one lock, for the concurrency check: ws2_32's
 * upcalls are callable from any thread, so the host's books are kept under
 * one recursive lock. */
#ifdef _WIN32
typedef HANDLE thread_t;
static CRITICAL_SECTION g_host_lock;
static void host_lock_init(void) { InitializeCriticalSection(&g_host_lock); }
static void host_lock(void) { EnterCriticalSection(&g_host_lock); }
static void host_unlock(void) { LeaveCriticalSection(&g_host_lock); }
typedef struct {
    void (*f)(void *);
    void *arg;
} thread_start_t;
static DWORD WINAPI thread_trampoline(LPVOID p)
{
    thread_start_t *t = p;
    t->f(t->arg);
    return 0;
}
static int thread_spawn(thread_t *t, thread_start_t *start)
{
    *t = CreateThread(NULL, 0, thread_trampoline, start, 0, NULL);
    return *t != NULL;
}
static void thread_join(thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
static void yield_now(void) { Sleep(0); }
#else
#include <pthread.h>
#include <sched.h>
typedef pthread_t thread_t;
static pthread_mutex_t g_host_lock;
static void host_lock_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&g_host_lock, &a);
    pthread_mutexattr_destroy(&a);
}
static void host_lock(void) { pthread_mutex_lock(&g_host_lock); }
static void host_unlock(void) { pthread_mutex_unlock(&g_host_lock); }
typedef struct {
    void (*f)(void *);
    void *arg;
} thread_start_t;
static void *thread_trampoline(void *p)
{
    thread_start_t *t = p;
    t->f(t->arg);
    return NULL;
}
static int thread_spawn(thread_t *t, thread_start_t *start)
{
    return pthread_create(t, NULL, thread_trampoline, start) == 0;
}
static void thread_join(thread_t t) { pthread_join(t, NULL); }
static void yield_now(void) { sched_yield(); }
#endif

/* ===================================================================== */
/* The DLL's exports                                                      */
/* ===================================================================== */

typedef int(WSAAPI *set_completion_fn)(HOST_LPWPUCOMPLETEOVERLAPPEDREQUEST f);

static LPWSPSTARTUP p_WSPStartup;
static set_completion_fn p_WSPSetCompletionUpcall;
static void (*loopback_run)(void);
static uint64_t (*loopback_service_bytes)(unsigned short port);
static unsigned int (*loopback_service_resets)(unsigned short port);
static unsigned int (*loopback_service_graceful)(unsigned short port);
static void (*loopback_set_read_rate)(unsigned short port, int rate);
/* The thread's last error an extension function set (off Windows). */
static int(WSAAPI *p_WSPLastError)(void);
static unsigned int (*loopback_startup_count)(void);
static unsigned int (*loopback_socket_count)(void);

/* A stack (--layer): the layers, bottom first, and the top layer's hooks. */
#define MAX_LAYERS 4
typedef int(WSAAPI *add_catalog_entry_fn)(const WSAPROTOCOL_INFOW *info, const WCHAR *path);
typedef int(WSAAPI *layer_provider_id_fn)(GUID *id);
static int g_layers;
static const char *g_layer_paths[MAX_LAYERS];
static int (*counting_layer_closed)(unsigned int index, uint64_t *sent, uint64_t *received);
static int(WSAAPI *g_layer_flush[MAX_LAYERS])(void);

/* Moves the simulated network until idle and, in a stack, lets each layer
 * (bottom first) deliver what came up from below: then the application
 * has been told whatever the network brought. */
static void run_network(void)
{
    loopback_run();
    for (int k = 0; k < g_layers; k++)
        g_layer_flush[k]();
}
/* What the provider under test says it is (the top layer's, in a stack). */
static const char *g_description = "winsock-provider loopback example";

/* ===================================================================== */
/* Checks: bookkeeping and expectations                                   */
/* ===================================================================== */

static const char *g_check;  /* the running check's name */
static int g_check_failures; /* failed expectations in it */
static int g_checks, g_failed;

static int expect_eq(int line, const char *expr, long long got, long long want)
{
    if (got == want)
        return 1;
    g_check_failures++;
    printf("FAIL %s: %d %s (got %lld, want %lld)\n", g_check, line, expr, got, want);
    fflush(stdout);
    return 0;
}

static int expect_ne(int line, const char *expr, long long got, long long bad)
{
    if (got != bad)
        return 1;
    g_check_failures++;
    printf("FAIL %s: %d %s (got %lld, want anything but %lld)\n", g_check, line, expr, got,
           bad);
    fflush(stdout);
    return 0;
}

#define EQ(got, want) expect_eq(__LINE__, #got, (long long)(got), (long long)(want))
#define NE(got, bad) expect_ne(__LINE__, #got, (long long)(got), (long long)(bad))
#define TRUE_(cond) expect_eq(__LINE__, #cond, !!(cond), 1)
#define PTR_EQ(got, want) \
    expect_eq(__LINE__, #got, (long long)(uintptr_t)(got), (long long)(uintptr_t)(want))
/* A call that fails: its result and *lpErrno (reset to 0 first). */
#define FAILS_WITH(call, failure, code)                                   \
    do {                                                                  \
        err = 0;                                                          \
        long long r_ = (long long)(call);                                 \
        expect_eq(__LINE__, #call, r_, (long long)(failure));             \
        expect_eq(__LINE__, "*lpErrno of " #call, err, (long long)(code)); \
    } while (0)
/* Ends the check (at its `done:` label) when an expectation fails. */
#define REQUIRE(x) \
    do {           \
        if (!(x))  \
            goto done; \
    } while (0)

/* ===================================================================== */
/* The recording upcall table (the host's ws2_32 side)                    */
/* ===================================================================== */

enum {
    UP_CLOSE_EVENT,
    UP_CLOSE_SOCKET_HANDLE,
    UP_CREATE_EVENT,
    UP_CREATE_SOCKET_HANDLE,
    UP_FD_IS_SET,
    UP_GET_PROVIDER_PATH,
    UP_MODIFY_IFS_HANDLE,
    UP_POST_MESSAGE,
    UP_QUERY_BLOCKING_CALLBACK,
    UP_QUERY_SOCKET_HANDLE_CONTEXT,
    UP_QUEUE_APC,
    UP_RESET_EVENT,
    UP_SET_EVENT,
    UP_OPEN_CURRENT_THREAD,
    UP_CLOSE_THREAD,
    UP_COUNT
};

/* Socket handles: never reused (0x1000 + 4 * n), each with its context. */
#define MAX_HANDLES (1 << 18)
static struct {
    SOCKET s;
    DWORD_PTR context;
    DWORD catalog;
    int closed;
} g_handles[MAX_HANDLES];
static unsigned g_handle_count;
/* Sloppy mode: a closed handle still answers its old context, so only the
 * provider's own generation check can tell it is stale (S6h, S13). */
static int g_sloppy;

static int handle_index(SOCKET s)
{
    if (s < 0x1000 || (s - 0x1000) % 4 != 0)
        return -1;
    SOCKET i = (s - 0x1000) / 4;
    return i < g_handle_count ? (int)i : -1;
}

/* Fake event handles: WPUSetEvent / WPUResetEvent / completions per event. */
#define MAX_EVENTS 64
static struct {
    WSAEVENT ev;
    int set, reset, completed;
} g_events[MAX_EVENTS];
static int g_event_count;

static int *event_counter(WSAEVENT ev, int which)
{
    int i;
    for (i = 0; i < g_event_count; i++)
        if (g_events[i].ev == ev)
            break;
    if (i == g_event_count) {
        if (g_event_count == MAX_EVENTS)
            i = 0; /* full: lump into slot 0 (never happens in these checks) */
        else
            g_events[g_event_count++].ev = ev;
    }
    return which == 0 ? &g_events[i].set : which == 1 ? &g_events[i].reset
                                                     : &g_events[i].completed;
}
static int ev_sets(WSAEVENT ev) { return *event_counter(ev, 0); }
static int ev_resets(WSAEVENT ev) { return *event_counter(ev, 1); }
static int ev_completions(WSAEVENT ev) { return *event_counter(ev, 2); }
#define EVENT(n) ((WSAEVENT)(uintptr_t)(0x5000 + (n)))

/* Queued APCs: run only when the host "waits alertably" (drain_apcs). */
#define MAX_APCS 8192
static struct {
    WSATHREADID thread;
    LPWSAUSERAPC routine;
    DWORD_PTR context;
} g_apcs[MAX_APCS];
static int g_apc_head, g_apc_tail;

/* What the upcalls and the completion upcall saw. Reset by each check. */
/* Set by the concurrency check once a final cleanup has returned: any
 * upcall from then on (until the next startup) is counted in g_late. */
static int g_after_final_cleanup;
static int g_late;
/* WPUCloseSocketHandle calls for a handle already given back. */
static int g_double_closes;

/* Every upcall's first step, under the host lock. */
static void upcall_seen(int which);

static struct {
    int n[UP_COUNT];     /* calls per upcall */
    int via_b;           /* calls that went through the second table (S3) */
    SOCKET last_created; /* WPUCreateSocketHandle */
    DWORD last_catalog;
    SOCKET last_closed; /* WPUCloseSocketHandle */
    WSATHREADID last_apc_thread;
    HWND post_hwnd; /* WPUPostMessage */
    UINT post_msg;
    WPARAM post_wparam;
    LPARAM post_lparam;
    /* The completion upcall (WSPSetCompletionUpcall). */
    int completions;
    SOCKET comp_socket;
    LPWSAOVERLAPPED comp_ov;
    DWORD comp_error, comp_bytes;
    /* The completion routine (run by a drained APC). */
    int routines;
    DWORD routine_error, routine_bytes, routine_flags;
    LPWSAOVERLAPPED routine_ov;
} R;

static void upcall_seen(int which)
{
    R.n[which]++;
    if (g_after_final_cleanup)
        g_late++;
}

static SOCKET WSPAPI up_create_socket_handle(DWORD catalog, DWORD_PTR context, LPINT lpErrno)
{
    SOCKET s = INVALID_SOCKET;
    host_lock();
    upcall_seen(UP_CREATE_SOCKET_HANDLE);
    if (g_handle_count == MAX_HANDLES) {
        *lpErrno = WSAENOBUFS;
    } else {
        s = (SOCKET)(0x1000 + 4 * (uintptr_t)g_handle_count);
        g_handles[g_handle_count].s = s;
        g_handles[g_handle_count].context = context;
        g_handles[g_handle_count].catalog = catalog;
        g_handles[g_handle_count].closed = 0;
        g_handle_count++;
        R.last_created = s;
        R.last_catalog = catalog;
    }
    host_unlock();
    return s;
}

static int WSPAPI up_query_socket_handle_context(SOCKET s, PDWORD_PTR context, LPINT lpErrno)
{
    int r = 0;
    host_lock();
    upcall_seen(UP_QUERY_SOCKET_HANDLE_CONTEXT);
    int i = handle_index(s);
    if (i < 0 || (g_handles[i].closed && !g_sloppy)) {
        *lpErrno = WSAENOTSOCK;
        r = SOCKET_ERROR;
    } else {
        *context = g_handles[i].context;
    }
    host_unlock();
    return r;
}

static int WSPAPI up_close_socket_handle(SOCKET s, LPINT lpErrno)
{
    int r = 0;
    host_lock();
    upcall_seen(UP_CLOSE_SOCKET_HANDLE);
    int i = handle_index(s);
    if (i < 0 || g_handles[i].closed) {
        if (i >= 0)
            g_double_closes++;
        *lpErrno = WSAENOTSOCK;
        r = SOCKET_ERROR;
    } else {
        g_handles[i].closed = 1;
        R.last_closed = s;
    }
    host_unlock();
    return r;
}

static int handle_closed(SOCKET s)
{
    host_lock();
    int i = handle_index(s);
    int closed = i >= 0 && g_handles[i].closed;
    host_unlock();
    return closed;
}

static int WSPAPI up_queue_apc(LPWSATHREADID thread, LPWSAUSERAPC routine, DWORD_PTR context,
                               LPINT lpErrno)
{
    int r = 0;
    host_lock();
    upcall_seen(UP_QUEUE_APC);
    if (thread == NULL || routine == NULL || g_apc_tail == MAX_APCS) {
        *lpErrno = WSAEFAULT;
        r = SOCKET_ERROR;
    } else {
        R.last_apc_thread = *thread;
        g_apcs[g_apc_tail].thread = *thread;
        g_apcs[g_apc_tail].routine = routine;
        g_apcs[g_apc_tail].context = context;
        g_apc_tail++;
    }
    host_unlock();
    return r;
}

/* The "alertable wait": runs every queued APC once, in order. */
static int drain_apcs(void)
{
    int ran = 0;
    host_lock();
    while (g_apc_head < g_apc_tail) {
        int i = g_apc_head++;
        g_apcs[i].routine(g_apcs[i].context);
        ran++;
    }
    g_apc_head = g_apc_tail = 0;
    host_unlock();
    return ran;
}

static BOOL WSPAPI up_set_event(WSAEVENT ev, LPINT lpErrno)
{
    (void)lpErrno;
    host_lock();
    upcall_seen(UP_SET_EVENT);
    (*event_counter(ev, 0))++;
    host_unlock();
    return TRUE;
}

static BOOL WSPAPI up_reset_event(WSAEVENT ev, LPINT lpErrno)
{
    (void)lpErrno;
    host_lock();
    upcall_seen(UP_RESET_EVENT);
    (*event_counter(ev, 1))++;
    host_unlock();
    return TRUE;
}

static BOOL WSPAPI up_post_message(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    host_lock();
    upcall_seen(UP_POST_MESSAGE);
    R.post_hwnd = hwnd;
    R.post_msg = msg;
    R.post_wparam = wparam;
    R.post_lparam = lparam;
    host_unlock();
    return TRUE;
}

/* The rest: recorded, and they fail. */
static void unoffered(int which, LPINT lpErrno)
{
    host_lock();
    upcall_seen(which);
    host_unlock();
    if (lpErrno != NULL)
        *lpErrno = WSAEINVAL;
}
static BOOL WSPAPI up_close_event(WSAEVENT ev, LPINT lpErrno)
{
    (void)ev;
    unoffered(UP_CLOSE_EVENT, lpErrno);
    return FALSE;
}
static WSAEVENT WSPAPI up_create_event(LPINT lpErrno)
{
    unoffered(UP_CREATE_EVENT, lpErrno);
    return NULL;
}
static int WSPAPI up_fd_is_set(SOCKET s, fd_set *set)
{
    (void)s;
    (void)set;
    unoffered(UP_FD_IS_SET, NULL);
    return 0;
}
static int WSPAPI up_get_provider_path(LPGUID id, WCHAR *path, LPINT len, LPINT lpErrno)
{
    (void)id;
    (void)path;
    (void)len;
    unoffered(UP_GET_PROVIDER_PATH, lpErrno);
    return SOCKET_ERROR;
}
static SOCKET WSPAPI up_modify_ifs_handle(DWORD catalog, SOCKET proposed, LPINT lpErrno)
{
    (void)catalog;
    (void)proposed;
    unoffered(UP_MODIFY_IFS_HANDLE, lpErrno);
    return INVALID_SOCKET;
}
static int WSPAPI up_query_blocking_callback(DWORD catalog, LPBLOCKINGCALLBACK *callback,
                                             PDWORD_PTR context, LPINT lpErrno)
{
    (void)catalog;
    (void)callback;
    (void)context;
    unoffered(UP_QUERY_BLOCKING_CALLBACK, lpErrno);
    return SOCKET_ERROR;
}
static int WSPAPI up_open_current_thread(LPWSATHREADID thread, LPINT lpErrno)
{
    (void)thread;
    unoffered(UP_OPEN_CURRENT_THREAD, lpErrno);
    return SOCKET_ERROR;
}
static int WSPAPI up_close_thread(LPWSATHREADID thread, LPINT lpErrno)
{
    (void)thread;
    unoffered(UP_CLOSE_THREAD, lpErrno);
    return SOCKET_ERROR;
}

/* The second table's entries (S3): the same, counted in via_b. */
static void via_b(void)
{
    host_lock();
    R.via_b++;
    host_unlock();
}
static SOCKET WSPAPI up_b_create_socket_handle(DWORD catalog, DWORD_PTR context, LPINT lpErrno)
{
    via_b();
    return up_create_socket_handle(catalog, context, lpErrno);
}
static int WSPAPI up_b_query_socket_handle_context(SOCKET s, PDWORD_PTR context, LPINT lpErrno)
{
    via_b();
    return up_query_socket_handle_context(s, context, lpErrno);
}
static int WSPAPI up_b_close_socket_handle(SOCKET s, LPINT lpErrno)
{
    via_b();
    return up_close_socket_handle(s, lpErrno);
}

static WSPUPCALLTABLE upcall_table(int second)
{
    WSPUPCALLTABLE t;
    t.lpWPUCloseEvent = up_close_event;
    t.lpWPUCloseSocketHandle = second ? up_b_close_socket_handle : up_close_socket_handle;
    t.lpWPUCreateEvent = up_create_event;
    t.lpWPUCreateSocketHandle = second ? up_b_create_socket_handle : up_create_socket_handle;
    t.lpWPUFDIsSet = up_fd_is_set;
    t.lpWPUGetProviderPath = up_get_provider_path;
    t.lpWPUModifyIFSHandle = up_modify_ifs_handle;
    t.lpWPUPostMessage = up_post_message;
    t.lpWPUQueryBlockingCallback = up_query_blocking_callback;
    t.lpWPUQuerySocketHandleContext =
        second ? up_b_query_socket_handle_context : up_query_socket_handle_context;
    t.lpWPUQueueApc = up_queue_apc;
    t.lpWPUResetEvent = up_reset_event;
    t.lpWPUSetEvent = up_set_event;
    t.lpWPUOpenCurrentThread = up_open_current_thread;
    t.lpWPUCloseThread = up_close_thread;
    return t;
}

/* ws2_32's WPUCompleteOverlappedRequest, as the host's stand-in: records,
 * writes InternalHigh then Internal, "sets" hEvent. */
static int WSAAPI host_complete(SOCKET s, LPWSAOVERLAPPED ov, DWORD error, DWORD bytes,
                                LPINT lpErrno)
{
    (void)lpErrno;
    host_lock();
    if (g_after_final_cleanup)
        g_late++;
    R.completions++;
    R.comp_socket = s;
    R.comp_ov = ov;
    R.comp_error = error;
    R.comp_bytes = bytes;
    ov->InternalHigh = bytes;
    ov->Internal = 0;
    if (ov->hEvent != NULL)
        (*event_counter(ov->hEvent, 2))++;
    host_unlock();
    return 0;
}

/* The application's completion routine. */
static void CALLBACK on_complete(DWORD error, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
    host_lock();
    R.routines++;
    R.routine_error = error;
    R.routine_bytes = bytes;
    R.routine_ov = ov;
    R.routine_flags = flags;
    host_unlock();
}

/* ===================================================================== */
/* Helpers                                                                */
/* ===================================================================== */

#define CATALOG_TCP 1001
#define CATALOG_UDP 1002
/* A stack's catalog: layer k's hidden entry is 3001 + k; its chains over
 * TCP and UDP are 4001 + 10 k and 4002 + 10 k. */
#define CATALOG_HIDDEN(k) (3001 + (k))
#define CATALOG_CHAIN(k, udp) (4001 + 10 * (k) + (udp))
static WSAPROTOCOL_INFOW g_tcp_info, g_udp_info;

static void init_protocol_info(WSAPROTOCOL_INFOW *p, int udp)
{
    static const char name[] = "winsock-provider loopback";
    memset(p, 0, sizeof *p);
    p->dwServiceFlags1 = udp ? (XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED)
                             : (XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER |
                                XP1_GRACEFUL_CLOSE | XP1_EXPEDITED_DATA);
    p->ProviderId.Data1 = 0x51575350;
    p->dwCatalogEntryId = udp ? CATALOG_UDP : CATALOG_TCP;
    p->ProtocolChain.ChainLen = BASE_PROTOCOL;
    p->iVersion = 2;
    p->iAddressFamily = AF_INET;
    p->iMaxSockAddr = 16;
    p->iMinSockAddr = 16;
    p->iSocketType = udp ? SOCK_DGRAM : SOCK_STREAM;
    p->iProtocol = udp ? IPPROTO_UDP : IPPROTO_TCP;
    p->iNetworkByteOrder = BIGENDIAN;
    p->dwMessageSize = udp ? 65507 : 0;
    for (size_t i = 0; i < sizeof name; i++)
        p->szProtocol[i] = (WCHAR)name[i];
}

static WSPPROC_TABLE T; /* the table of the newest startup */
static LPWSPCLEANUP g_cleanup; /* kept from any startup, to reset between checks */
static int err;        /* lpErrno of the calls */

static int startup_with(WORD version, WSPUPCALLTABLE upcalls, WSPPROC_TABLE *table)
{
    WSPDATA data;
    int r = p_WSPStartup(version, &data, &g_tcp_info, upcalls, table);
    if (r == 0 && table->lpWSPCleanup != NULL)
        g_cleanup = table->lpWSPCleanup;
    return r;
}

/* The usual startup: 2.2, the first upcall table, into T. */
static int start(void) { return EQ(startup_with(MAKEWORD(2, 2), upcall_table(0), &T), 0); }

static int cleanup(void)
{
    err = 0;
    if (T.lpWSPCleanup == NULL)
        return SOCKET_ERROR;
    return T.lpWSPCleanup(&err);
}

static struct sockaddr_in sin4(int a, int b, int c, int d, int port)
{
    struct sockaddr_in s;
    uint8_t ip[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
    uint8_t pb[2] = {(uint8_t)(port >> 8), (uint8_t)(port & 0xff)};
    memset(&s, 0, sizeof s);
    s.sin_family = AF_INET;
    memcpy(&s.sin_port, pb, 2);
    memcpy(&s.sin_addr, ip, 4);
    return s;
}

static int port_of(const struct sockaddr_in *s)
{
    uint8_t pb[2];
    memcpy(pb, &s->sin_port, 2);
    return (pb[0] << 8) | pb[1];
}

/* The IPv4 address as a.b.c.d packed in a number: 127.0.0.1 = 0x7f000001. */
static long long ip_of(const struct sockaddr_in *s)
{
    uint8_t ip[4];
    memcpy(ip, &s->sin_addr, 4);
    return ((long long)ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3];
}

static SOCKET new_socket(int udp, DWORD flags)
{
    err = 0;
    return T.lpWSPSocket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, udp ? IPPROTO_UDP : IPPROTO_TCP,
                         udp ? &g_udp_info : &g_tcp_info, 0, flags, &err);
}

static int bind_to(SOCKET s, struct sockaddr_in a)
{
    err = 0;
    return T.lpWSPBind(s, (struct sockaddr *)&a, sizeof a, &err);
}

static int connect_to(SOCKET s, struct sockaddr_in a)
{
    err = 0;
    return T.lpWSPConnect(s, (struct sockaddr *)&a, sizeof a, NULL, NULL, NULL, NULL, &err);
}

static int sock_name(SOCKET s, struct sockaddr_in *a)
{
    int len = sizeof *a;
    err = 0;
    memset(a, 0, sizeof *a);
    return T.lpWSPGetSockName(s, (struct sockaddr *)a, &len, &err);
}

/* A stream socket (flags: WSA_FLAG_*) connected to 127.0.0.2:port. */
static SOCKET connect_service(int port, DWORD flags)
{
    SOCKET s = new_socket(0, flags);
    if (!NE(s, INVALID_SOCKET))
        return INVALID_SOCKET;
    if (!EQ(connect_to(s, sin4(127, 0, 0, 2, port)), 0) || !EQ(err, 0))
        return INVALID_SOCKET;
    return s;
}

/* A blocking send of len bytes; returns the count sent or -1. */
static int send_bytes(SOCKET s, const char *data, int len)
{
    WSABUF b;
    DWORD sent = 0;
    b.len = (u_long)len;
    b.buf = (char *)data;
    err = 0;
    if (T.lpWSPSend(s, &b, 1, &sent, 0, NULL, NULL, NULL, &err) != 0)
        return -1;
    return (int)sent;
}

/* Blocking receives until want bytes came, the peer closed (0) or an error. */
static int recv_bytes(SOCKET s, char *buf, int want)
{
    int got = 0;
    while (got < want) {
        WSABUF b;
        DWORD n = 0, flags = 0;
        b.len = (u_long)(want - got);
        b.buf = buf + got;
        err = 0;
        if (T.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL, &err) != 0)
            return got > 0 ? got : -1;
        if (n == 0)
            break;
        got += (int)n;
    }
    return got;
}

static int ioctl_fionbio(SOCKET s, u_long on)
{
    DWORD returned = 0;
    err = 0;
    return T.lpWSPIoctl(s, FIONBIO, &on, sizeof on, NULL, 0, &returned, NULL, NULL, NULL, &err);
}

static long long ioctl_fionread(SOCKET s)
{
    u_long n = 0xdead;
    DWORD returned = 0;
    err = 0;
    if (T.lpWSPIoctl(s, FIONREAD, NULL, 0, &n, sizeof n, &returned, NULL, NULL, NULL, &err) != 0)
        return -1;
    return n;
}

static int close_socket(SOCKET s)
{
    err = 0;
    return T.lpWSPCloseSocket(s, &err);
}

/* A check's tidy-up: closes a socket it opened, if it got that far. */
#define CLOSE_IF_OPEN(s)                 \
    do {                                 \
        if ((s) != INVALID_SOCKET)       \
            EQ(close_socket(s), 0);      \
    } while (0)

/* A listener on 127.0.0.1, a client connected to it, the accepted socket. */
static int stream_pair(SOCKET *listener, SOCKET *client, SOCKET *accepted)
{
    struct sockaddr_in a;
    *listener = *client = *accepted = INVALID_SOCKET;
    *listener = new_socket(0, 0);
    if (!NE(*listener, INVALID_SOCKET) || !EQ(bind_to(*listener, sin4(127, 0, 0, 1, 0)), 0) ||
        !EQ(sock_name(*listener, &a), 0))
        return 0;
    err = 0;
    if (!EQ(T.lpWSPListen(*listener, 4, &err), 0))
        return 0;
    *client = new_socket(0, 0);
    if (!NE(*client, INVALID_SOCKET) || !EQ(connect_to(*client, a), 0))
        return 0;
    err = 0;
    *accepted = T.lpWSPAccept(*listener, NULL, NULL, NULL, 0, &err);
    return NE(*accepted, INVALID_SOCKET);
}

static WSATHREADID g_thread; /* what the host passes as lpThreadId */

/* An overlapped WSPRecv into one buffer. */
static int recv_overlapped(SOCKET s, WSABUF *bufs, DWORD count, DWORD *received,
                           WSAOVERLAPPED *ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
    DWORD flags = 0;
    err = 0;
    return T.lpWSPRecv(s, bufs, count, received, &flags, ov, routine, &g_thread, &err);
}

/* ===================================================================== */
/* S1..S4: lifecycle                                                      */
/* ===================================================================== */

/* S1: each successful startup needs its own cleanup; one more cleanup is
 * WSANOTINITIALISED; a failed startup changes nothing. */
static void s1_nested_startup_needs_matching_cleanups(void)
{
    WSPPROC_TABLE t2, t3;
    REQUIRE(start());
    EQ(startup_with(MAKEWORD(2, 2), upcall_table(0), &t2), 0);
    EQ(startup_with(MAKEWORD(2, 0), upcall_table(0), &t3), 0);
    EQ(startup_with(MAKEWORD(1, 1), upcall_table(0), &t3), WSAVERNOTSUPPORTED);
    EQ(cleanup(), 0);
    EQ(cleanup(), 0);
    /* Still one startup in force (S5): sockets work. */
    SOCKET s = new_socket(0, 0);
    NE(s, INVALID_SOCKET);
    EQ(close_socket(s), 0);
    EQ(cleanup(), 0);
    FAILS_WITH(T.lpWSPCleanup(&err), SOCKET_ERROR, WSANOTINITIALISED);
done:;
}

static int description_is(const WSPDATA *d, const char *want)
{
    size_t i;
    for (i = 0; want[i] != '\0'; i++)
        if (d->szDescription[i] != (WCHAR)(unsigned char)want[i])
            return 0;
    return d->szDescription[i] == 0;
}

/* S2: versions compare as (major, minor); below 2.0 is WSAVERNOTSUPPORTED
 * returned directly; wVersion = min(requested, 2.2), wHighVersion = 2.2. */
static void s2_version_negotiation_and_description(void)
{
    static const struct {
        int major, minor, want_major, want_minor;
    } ok[] = {{2, 2, 2, 2}, {2, 1, 2, 1}, {2, 0, 2, 0}, {3, 0, 2, 2}, {2, 9, 2, 2}};
    static const struct {
        int major, minor;
    } too_old[] = {{1, 1}, {1, 0}, {0, 3}, {1, 9}};
    WSPDATA d;
    for (size_t i = 0; i < sizeof too_old / sizeof too_old[0]; i++) {
        memset(&d, 0xAB, sizeof d);
        EQ(p_WSPStartup(MAKEWORD(too_old[i].major, too_old[i].minor), &d, &g_tcp_info,
                        upcall_table(0), &T),
           WSAVERNOTSUPPORTED);
    }
    /* Nothing was started. */
    FAILS_WITH(g_cleanup ? g_cleanup(&err) : SOCKET_ERROR, SOCKET_ERROR,
               g_cleanup ? WSANOTINITIALISED : 0);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        memset(&d, 0xAB, sizeof d);
        if (!EQ(p_WSPStartup(MAKEWORD(ok[i].major, ok[i].minor), &d, &g_tcp_info,
                             upcall_table(0), &T),
                0))
            continue;
        g_cleanup = T.lpWSPCleanup;
        EQ(d.wVersion, MAKEWORD(ok[i].want_major, ok[i].want_minor));
        EQ(d.wHighVersion, MAKEWORD(2, 2));
        TRUE_(description_is(&d, g_description));
        EQ(cleanup(), 0);
    }
}

/* S2: a null lpWSPData, lpProtocolInfo or lpProcTable is WSAEFAULT, returned
 * directly, and starts nothing. */
static void s2_null_startup_pointers_are_wsaefault(void)
{
    WSPDATA d;
    WSPPROC_TABLE t;
    memset(&t, 0, sizeof t);
    EQ(p_WSPStartup(MAKEWORD(2, 2), NULL, &g_tcp_info, upcall_table(0), &t), WSAEFAULT);
    EQ(p_WSPStartup(MAKEWORD(2, 2), &d, &g_tcp_info, upcall_table(0), NULL), WSAEFAULT);
    EQ(p_WSPStartup(MAKEWORD(2, 2), &d, NULL, upcall_table(0), &t), WSAEFAULT);
    PTR_EQ(t.lpWSPCleanup, NULL);
    if (g_cleanup != NULL)
        FAILS_WITH(g_cleanup(&err), SOCKET_ERROR, WSANOTINITIALISED);
}

/* S3: after a second startup with another upcall table, that table is the
 * one used. */
static void s3_second_startup_upcall_table_is_used(void)
{
    WSPPROC_TABLE t2;
    REQUIRE(start());
    REQUIRE(EQ(startup_with(MAKEWORD(2, 2), upcall_table(1), &t2), 0));
    memset(&R, 0, sizeof R);
    SOCKET s = new_socket(0, 0);
    NE(s, INVALID_SOCKET);
    /* In a stack, one handle per level, every layer's startup mirrored
     * with the newest table: all of them through the second table, the
     * top layer's last, with its chain entry's id. */
    EQ(R.n[UP_CREATE_SOCKET_HANDLE], 1 + g_layers);
    /* Every one through the second table (a layer's WSPAsyncSelect on its
     * lower socket adds lookups, WPUQuerySocketHandleContext). */
    EQ(R.via_b, R.n[UP_CREATE_SOCKET_HANDLE] + R.n[UP_QUERY_SOCKET_HANDLE_CONTEXT]);
    EQ(R.last_catalog, g_tcp_info.dwCatalogEntryId);
    EQ(close_socket(s), 0);
    TRUE_(R.via_b >= 3); /* + WPUQuerySocketHandleContext, WPUCloseSocketHandle */
    EQ(R.via_b, R.n[UP_CREATE_SOCKET_HANDLE] + R.n[UP_QUERY_SOCKET_HANDLE_CONTEXT] +
                    R.n[UP_CLOSE_SOCKET_HANDLE]);
    EQ(cleanup(), 0);
    EQ(cleanup(), 0);
done:;
}

/* S4: all 30 entries are there; after the last cleanup each one, called
 * through a table kept from the startup, fails with WSANOTINITIALISED and
 * makes no upcall. */
static void s4_every_entry_is_gated_after_last_cleanup(void)
{
    WSPPROC_TABLE t;
    REQUIRE(start());
    t = T;
    {
        void *slots[30];
        _Static_assert(sizeof slots == sizeof t, "30 entries");
        memcpy(slots, &t, sizeof slots);
        for (int i = 0; i < 30; i++)
            if (!NE((uintptr_t)slots[i], 0))
                printf("  (entry #%d of WSPPROC_TABLE is NULL)\n", i);
    }
    SOCKET s = new_socket(0, 0);
    NE(s, INVALID_SOCKET);
    EQ(cleanup(), 0);
    memset(&R, 0, sizeof R);

    struct sockaddr_in a = sin4(127, 0, 0, 1, 0);
    int alen = sizeof a;
    char buf[8];
    WSABUF b = {sizeof buf, buf};
    DWORD n = 0, flags = 0;
    WSAOVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    WSANETWORKEVENTS ne;
    WSAPROTOCOL_INFOW pi;
    WCHAR text[32] = {'1', '.', '2', '.', '3', '.', '4', 0};
    DWORD textlen = 32;
    int optval = 0, optlen = sizeof optval;
    u_long on = 1;
    SOCKET bad = INVALID_SOCKET;

    FAILS_WITH(t.lpWSPAccept(s, NULL, NULL, NULL, 0, &err), INVALID_SOCKET, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPAddressToString((struct sockaddr *)&a, sizeof a, &g_tcp_info, text,
                                      &textlen, &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPAsyncSelect(s, (HWND)(uintptr_t)0x999, 0x400, FD_READ, &err), SOCKET_ERROR,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPBind(s, (struct sockaddr *)&a, sizeof a, &err), SOCKET_ERROR,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPCancelBlockingCall(&err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPCleanup(&err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPCloseSocket(s, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPConnect(s, (struct sockaddr *)&a, sizeof a, NULL, NULL, NULL, NULL, &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPDuplicateSocket(s, 1234, &pi, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPEnumNetworkEvents(s, EVENT(1), &ne, &err), SOCKET_ERROR,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPEventSelect(s, EVENT(1), FD_READ, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPGetOverlappedResult(s, &ov, &n, FALSE, &flags, &err), FALSE,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPGetPeerName(s, (struct sockaddr *)&a, &alen, &err), SOCKET_ERROR,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPGetSockName(s, (struct sockaddr *)&a, &alen, &err), SOCKET_ERROR,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPGetSockOpt(s, SOL_SOCKET, SO_TYPE, (char *)&optval, &optlen, &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPGetQOSByName(s, &b, NULL, &err), FALSE, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPIoctl(s, FIONBIO, &on, sizeof on, NULL, 0, &n, NULL, NULL, NULL, &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPJoinLeaf(s, (struct sockaddr *)&a, sizeof a, NULL, NULL, NULL, NULL, 0,
                               &err),
               INVALID_SOCKET, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPListen(s, 1, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL, &err), SOCKET_ERROR,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPRecvDisconnect(s, NULL, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPRecvFrom(s, &b, 1, &n, &flags, (struct sockaddr *)&a, &alen, NULL, NULL,
                               NULL, &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPSelect(0, NULL, NULL, NULL, NULL, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPSend(s, &b, 1, &n, 0, NULL, NULL, NULL, &err), SOCKET_ERROR,
               WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPSendDisconnect(s, NULL, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPSendTo(s, &b, 1, &n, 0, (struct sockaddr *)&a, sizeof a, NULL, NULL, NULL,
                             &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPSetSockOpt(s, SOL_SOCKET, SO_SNDBUF, (char *)&optval, sizeof optval, &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPShutdown(s, SD_BOTH, &err), SOCKET_ERROR, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &g_tcp_info, 0, 0, &err),
               INVALID_SOCKET, WSANOTINITIALISED);
    FAILS_WITH(t.lpWSPStringToAddress(text, AF_INET, &g_tcp_info, (struct sockaddr *)&a, &alen,
                                      &err),
               SOCKET_ERROR, WSANOTINITIALISED);
    (void)bad;
    /* "Changes nothing": the gate answered before any upcall. */
    for (int i = 0; i < UP_COUNT; i++)
        if (!EQ(R.n[i], 0))
            printf("  (upcall #%d was made behind a closed gate)\n", i);
done:;
}

/* ===================================================================== */
/* Sockets through the table                                              */
/* ===================================================================== */

/* Stream sockets over 127.0.0.1: names, connect/accept, blocking send and
 * recv both ways, shutdown(SD_SEND) seen by the peer as 0 bytes (S8). */
static void stream_basics_over_loopback(void)
{
    SOCKET l = INVALID_SOCKET, c = INVALID_SOCKET, a = INVALID_SOCKET;
    struct sockaddr_in ln, cn, an, peer;
    int len;
    char buf[32];
    REQUIRE(start());
    l = new_socket(0, 0);
    REQUIRE(NE(l, INVALID_SOCKET));
    REQUIRE(EQ(bind_to(l, sin4(127, 0, 0, 1, 0)), 0));
    REQUIRE(EQ(sock_name(l, &ln), 0));
    EQ(ln.sin_family, AF_INET);
    EQ(ip_of(&ln), 0x7f000001);
    NE(port_of(&ln), 0);
    REQUIRE(EQ(T.lpWSPListen(l, 4, &err), 0));
    c = new_socket(0, 0);
    REQUIRE(NE(c, INVALID_SOCKET));
    REQUIRE(EQ(connect_to(c, ln), 0));
    REQUIRE(EQ(sock_name(c, &cn), 0));
    EQ(ip_of(&cn), 0x7f000001);
    NE(port_of(&cn), 0);
    len = sizeof an;
    memset(&an, 0, sizeof an);
    err = 0;
    a = T.lpWSPAccept(l, (struct sockaddr *)&an, &len, NULL, 0, &err);
    REQUIRE(NE(a, INVALID_SOCKET));
    EQ(len, sizeof an);
    EQ(ip_of(&an), ip_of(&cn));
    EQ(port_of(&an), port_of(&cn));
    len = sizeof peer;
    EQ(T.lpWSPGetPeerName(c, (struct sockaddr *)&peer, &len, &err), 0);
    EQ(port_of(&peer), port_of(&ln));
    EQ(ip_of(&peer), 0x7f000001);
    len = sizeof peer;
    EQ(T.lpWSPGetPeerName(a, (struct sockaddr *)&peer, &len, &err), 0);
    EQ(port_of(&peer), port_of(&cn));

    EQ(send_bytes(c, "hello", 5), 5);
    memset(buf, 0, sizeof buf);
    EQ(recv_bytes(a, buf, 5), 5);
    EQ(memcmp(buf, "hello", 5), 0);
    EQ(send_bytes(a, "world!", 6), 6);
    memset(buf, 0, sizeof buf);
    EQ(recv_bytes(c, buf, 6), 6);
    EQ(memcmp(buf, "world!", 6), 0);

    EQ(T.lpWSPShutdown(c, SD_SEND, &err), 0);
    {
        WSABUF b = {sizeof buf, buf};
        DWORD n = 99, flags = 0;
        err = 0;
        EQ(T.lpWSPRecv(a, &b, 1, &n, &flags, NULL, NULL, NULL, &err), 0);
        EQ(n, 0); /* graceful close: 0 bytes */
        /* S8: no more sends in a shut direction. */
        FAILS_WITH(send_bytes(c, "x", 1), -1, WSAESHUTDOWN);
    }
done:
    CLOSE_IF_OPEN(c);
    CLOSE_IF_OPEN(a);
    CLOSE_IF_OPEN(l);
    EQ(cleanup(), 0);
}

/* Datagrams: WSPSendTo to a bound socket, WSPRecvFrom gives the sender. */
static void udp_sendto_recvfrom_reports_source(void)
{
    SOCKET u1 = INVALID_SOCKET, u2 = INVALID_SOCKET;
    struct sockaddr_in n1, n2, from;
    char buf[64];
    REQUIRE(start());
    u1 = new_socket(1, 0);
    u2 = new_socket(1, 0);
    REQUIRE(NE(u1, INVALID_SOCKET) && NE(u2, INVALID_SOCKET));
    REQUIRE(EQ(bind_to(u1, sin4(127, 0, 0, 1, 0)), 0));
    REQUIRE(EQ(bind_to(u2, sin4(127, 0, 0, 1, 0)), 0));
    REQUIRE(EQ(sock_name(u1, &n1), 0) && EQ(sock_name(u2, &n2), 0));
    NE(port_of(&n1), port_of(&n2));
    {
        WSABUF b = {9, (char *)"datagram!"};
        DWORD sent = 0;
        err = 0;
        EQ(T.lpWSPSendTo(u1, &b, 1, &sent, 0, (struct sockaddr *)&n2, sizeof n2, NULL, NULL,
                         NULL, &err),
           0);
        EQ(sent, 9);
    }
    {
        WSABUF b = {sizeof buf, buf};
        DWORD n = 0, flags = 0;
        int fromlen = sizeof from;
        memset(&from, 0, sizeof from);
        err = 0;
        EQ(T.lpWSPRecvFrom(u2, &b, 1, &n, &flags, (struct sockaddr *)&from, &fromlen, NULL, NULL,
                           NULL, &err),
           0);
        EQ(err, 0);
        EQ(n, 9);
        EQ(memcmp(buf, "datagram!", 9), 0);
        EQ(fromlen, sizeof from);
        EQ(from.sin_family, AF_INET);
        EQ(ip_of(&from), 0x7f000001);
        EQ(port_of(&from), port_of(&n1));
    }
done:
    CLOSE_IF_OPEN(u1);
    CLOSE_IF_OPEN(u2);
    EQ(cleanup(), 0);
}

/* Spec 16: a datagram bigger than the receive buffer (no
 * XP1_PARTIAL_MESSAGE) is SOCKET_ERROR/WSAEMSGSIZE with the buffer filled
 * and the count written, the tail dropped; an overlapped receive reports
 * the same through its record (WSPGetOverlappedResult FALSE, WSAEMSGSIZE,
 * the count). */
static void s16_a_datagram_bigger_than_the_buffer_is_wsaemsgsize(void)
{
    SOCKET u1 = INVALID_SOCKET, u2 = INVALID_SOCKET;
    struct sockaddr_in n2;
    char big[100], buf[10];
    for (int i = 0; i < (int)sizeof big; i++)
        big[i] = (char)i;
    REQUIRE(start());
    u1 = new_socket(1, 0);
    u2 = new_socket(1, WSA_FLAG_OVERLAPPED);
    REQUIRE(NE(u1, INVALID_SOCKET) && NE(u2, INVALID_SOCKET));
    REQUIRE(EQ(bind_to(u2, sin4(127, 0, 0, 1, 0)), 0));
    REQUIRE(EQ(sock_name(u2, &n2), 0));
    for (int round = 0; round < 2; round++) {
        WSABUF b = {sizeof big, big};
        DWORD sent = 0;
        err = 0;
        EQ(T.lpWSPSendTo(u1, &b, 1, &sent, 0, (struct sockaddr *)&n2, sizeof n2, NULL, NULL, NULL,
                         &err),
           0);
    }
    {
        WSABUF next = {4, (char *)"next"};
        DWORD sent = 0;
        err = 0;
        EQ(T.lpWSPSendTo(u1, &next, 1, &sent, 0, (struct sockaddr *)&n2, sizeof n2, NULL, NULL,
                         NULL, &err),
           0);
    }
    run_network();
    {
        /* Not overlapped: the error, the part that fit, its count. */
        WSABUF b = {sizeof buf, buf};
        DWORD n = 0, flags = 0;
        memset(buf, 0, sizeof buf);
        err = 0;
        EQ(T.lpWSPRecv(u2, &b, 1, &n, &flags, NULL, NULL, NULL, &err), SOCKET_ERROR);
        EQ(err, WSAEMSGSIZE);
        EQ(n, sizeof buf);
        EQ(memcmp(buf, big, sizeof buf), 0);
    }
    {
        /* Overlapped, finished at once (S9: the call succeeds), the record
         * carries WSAEMSGSIZE with the count. */
        WSABUF b = {sizeof buf, buf};
        WSAOVERLAPPED ov;
        DWORD n = 0, flags = 0;
        memset(&ov, 0, sizeof ov);
        ov.hEvent = EVENT(40);
        EQ(recv_overlapped(u2, &b, 1, &n, &ov, NULL), 0);
        run_network();
        EQ(ov.OffsetHigh, WSAEMSGSIZE);
        EQ(ov.InternalHigh, sizeof buf);
        n = 0;
        EQ(T.lpWSPGetOverlappedResult(u2, &ov, &n, FALSE, &flags, &err), FALSE);
        EQ(err, WSAEMSGSIZE);
        EQ(n, sizeof buf);
        EQ(memcmp(buf, big, sizeof buf), 0);
    }
    {
        /* The tails were dropped: the next datagram comes whole. */
        WSABUF b = {sizeof buf, buf};
        DWORD n = 0, flags = 0;
        err = 0;
        EQ(T.lpWSPRecv(u2, &b, 1, &n, &flags, NULL, NULL, NULL, &err), 0);
        EQ(n, 4);
        EQ(memcmp(buf, "next", 4), 0);
    }
done:
    CLOSE_IF_OPEN(u1);
    CLOSE_IF_OPEN(u2);
    EQ(cleanup(), 0);
}

static int get_int_opt(SOCKET s, int name, int *value)
{
    int len = sizeof *value;
    *value = 0x5a5a5a5a;
    err = 0;
    int r = T.lpWSPGetSockOpt(s, SOL_SOCKET, name, (char *)value, &len, &err);
    if (r == 0)
        EQ(len, sizeof *value);
    return r;
}

static int set_int_opt(SOCKET s, int name, int value)
{
    err = 0;
    return T.lpWSPSetSockOpt(s, SOL_SOCKET, name, (const char *)&value, sizeof value, &err);
}

/* SO_LINGER / SO_DONTLINGER (S7's table; spec 10.3: SO_DONTLINGER TRUE means
 * l_onoff 0), SO_SNDBUF, SO_RCVBUF, SO_TYPE, SO_ERROR. */
static void socket_options_linger_buffers_type_error(void)
{
    SOCKET s = INVALID_SOCKET, u = INVALID_SOCKET;
    struct linger lg;
    int len, v;
    REQUIRE(start());
    s = new_socket(0, 0);
    u = new_socket(1, 0);
    REQUIRE(NE(s, INVALID_SOCKET) && NE(u, INVALID_SOCKET));

    len = sizeof lg;
    memset(&lg, 0xff, sizeof lg);
    EQ(T.lpWSPGetSockOpt(s, SOL_SOCKET, SO_LINGER, (char *)&lg, &len, &err), 0);
    EQ(len, sizeof lg);
    EQ(lg.l_onoff, 0); /* default: SO_DONTLINGER */
    EQ(get_int_opt(s, SO_DONTLINGER, &v), 0);
    NE(v, 0);

    lg.l_onoff = 1;
    lg.l_linger = 5;
    EQ(T.lpWSPSetSockOpt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg, &err), 0);
    len = sizeof lg;
    memset(&lg, 0, sizeof lg);
    EQ(T.lpWSPGetSockOpt(s, SOL_SOCKET, SO_LINGER, (char *)&lg, &len, &err), 0);
    EQ(lg.l_onoff, 1);
    EQ(lg.l_linger, 5);
    EQ(get_int_opt(s, SO_DONTLINGER, &v), 0);
    EQ(v, 0);

    EQ(set_int_opt(s, SO_DONTLINGER, 1), 0);
    len = sizeof lg;
    memset(&lg, 0xff, sizeof lg);
    EQ(T.lpWSPGetSockOpt(s, SOL_SOCKET, SO_LINGER, (char *)&lg, &len, &err), 0);
    EQ(lg.l_onoff, 0);
    EQ(lg.l_linger, 5); /* the timeout is kept */
    EQ(get_int_opt(s, SO_DONTLINGER, &v), 0);
    NE(v, 0);
    EQ(set_int_opt(s, SO_DONTLINGER, 0), 0);
    len = sizeof lg;
    EQ(T.lpWSPGetSockOpt(s, SOL_SOCKET, SO_LINGER, (char *)&lg, &len, &err), 0);
    EQ(lg.l_onoff, 1);
    /* A short SO_LINGER value is WSAEFAULT (S13). */
    FAILS_WITH(T.lpWSPSetSockOpt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, 2, &err),
               SOCKET_ERROR, WSAEFAULT);

    EQ(set_int_opt(s, SO_SNDBUF, 8192), 0);
    EQ(get_int_opt(s, SO_SNDBUF, &v), 0);
    EQ(v, 8192);
    EQ(set_int_opt(s, SO_RCVBUF, 16384), 0);
    EQ(get_int_opt(s, SO_RCVBUF, &v), 0);
    EQ(v, 16384);
    EQ(get_int_opt(s, SO_SNDBUF, &v), 0);
    EQ(v, 8192);

    EQ(get_int_opt(s, SO_TYPE, &v), 0);
    EQ(v, SOCK_STREAM);
    EQ(get_int_opt(u, SO_TYPE, &v), 0);
    EQ(v, SOCK_DGRAM);
    EQ(get_int_opt(s, SO_ERROR, &v), 0);
    EQ(v, 0);
    FAILS_WITH(set_int_opt(s, SO_TYPE, SOCK_DGRAM), SOCKET_ERROR, WSAENOPROTOOPT);
done:
    CLOSE_IF_OPEN(s);
    CLOSE_IF_OPEN(u);
    EQ(cleanup(), 0);
}

/* FIONBIO: a non-blocking recv with nothing there is WSAEWOULDBLOCK;
 * FIONREAD: the bytes waiting. */
static void ioctl_fionbio_and_fionread(void)
{
    SOCKET l = INVALID_SOCKET, c = INVALID_SOCKET, a = INVALID_SOCKET;
    char buf[16];
    REQUIRE(start());
    REQUIRE(stream_pair(&l, &c, &a));
    EQ(ioctl_fionread(a), 0);
    EQ(ioctl_fionbio(a, 1), 0);
    FAILS_WITH(recv_bytes(a, buf, 1), -1, WSAEWOULDBLOCK);
    EQ(send_bytes(c, "0123456", 7), 7);
    EQ(ioctl_fionread(a), 7);
    EQ(recv_bytes(a, buf, 7), 7);
    EQ(memcmp(buf, "0123456", 7), 0);
    EQ(ioctl_fionread(a), 0);
    FAILS_WITH(recv_bytes(a, buf, 1), -1, WSAEWOULDBLOCK);
    EQ(ioctl_fionbio(a, 0), 0);
    EQ(send_bytes(c, "z", 1), 1);
    EQ(recv_bytes(a, buf, 1), 1); /* blocking again: data is there */
done:
    CLOSE_IF_OPEN(l);
    CLOSE_IF_OPEN(c);
    CLOSE_IF_OPEN(a);
    EQ(cleanup(), 0);
}

/* ===================================================================== */
/* S9, S10, S7: overlapped operations                                     */
/* ===================================================================== */

/* S9/S10, event completion: a recv goes pending (Internal 0x103,
 * WSA_IO_INCOMPLETE), then the echo's data completes it exactly once
 * through the completion upcall. */
static void s9_s10_overlapped_recv_event_completes_once(void)
{
    SOCKET s = INVALID_SOCKET;
    char b1[4], b2[16];
    WSABUF bufs[2] = {{sizeof b1, b1}, {sizeof b2, b2}};
    WSAOVERLAPPED ov;
    DWORD received = 0xbeef, n = 0xbeef, flags = 0x77;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(10);
    EQ(recv_overlapped(s, bufs, 2, &received, &ov, NULL), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    EQ(ov.Internal, WSS_OPERATION_IN_PROGRESS);
    EQ(received, 0xbeef); /* not updated for a pending call */
    EQ(ev_resets(EVENT(10)), 1); /* the initiating call resets hEvent */
    FAILS_WITH(T.lpWSPGetOverlappedResult(s, &ov, &n, FALSE, &flags, &err), FALSE,
               WSA_IO_INCOMPLETE);
    EQ(n, 0xbeef);
    run_network();
    EQ(R.completions, 0);

    EQ(send_bytes(s, "hello echo", 10), 10);
    run_network();
    EQ(R.completions, 1);
    PTR_EQ(R.comp_ov, &ov);
    EQ(R.comp_socket, s);
    EQ(R.comp_error, 0);
    EQ(R.comp_bytes, 10);
    EQ(ev_completions(EVENT(10)), 1);
    EQ(R.n[UP_QUEUE_APC], 0);
    EQ(memcmp(b1, "hell", 4), 0);
    EQ(memcmp(b2, "o echo", 6), 0);
    EQ(ov.OffsetHigh, 0);
    EQ(ov.Internal, 0);
    EQ(ov.InternalHigh, 10);
    n = 0;
    EQ(T.lpWSPGetOverlappedResult(s, &ov, &n, FALSE, &flags, &err), TRUE);
    EQ(n, 10);
    EQ(flags, 0);
    run_network();
    EQ(R.completions, 1); /* exactly once */
done:
    CLOSE_IF_OPEN(s);
    EQ(R.completions, 1);
    EQ(cleanup(), 0);
}

/* S9/S10, completion routine: one WPUQueueApc to the caller's thread; the
 * routine runs once, when the host waits alertably. */
static void s9_s10_overlapped_recv_routine_runs_once(void)
{
    SOCKET s = INVALID_SOCKET;
    char buf[32];
    WSABUF b = {sizeof buf, buf};
    WSAOVERLAPPED ov;
    DWORD received = 0xbeef, n = 0, flags = 0;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = (WSAEVENT)(uintptr_t)0x1234; /* the application's context */
    EQ(recv_overlapped(s, &b, 1, &received, &ov, on_complete), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    EQ(ov.Internal, WSS_OPERATION_IN_PROGRESS);
    EQ(send_bytes(s, "routine!", 8), 8);
    run_network();
    EQ(R.completions, 0);
    EQ(R.n[UP_QUEUE_APC], 1);
    PTR_EQ(R.last_apc_thread.ThreadHandle, g_thread.ThreadHandle);
    EQ(R.last_apc_thread.Reserved, g_thread.Reserved);
    EQ(R.routines, 0); /* not before the alertable wait */
    EQ(ov.Internal, 0);
    EQ(ov.InternalHigh, 8);
    EQ(drain_apcs(), 1);
    EQ(R.routines, 1);
    EQ(R.routine_error, 0);
    EQ(R.routine_bytes, 8);
    PTR_EQ(R.routine_ov, &ov);
    EQ(memcmp(buf, "routine!", 8), 0);
    run_network();
    EQ(drain_apcs(), 0);
    EQ(R.routines, 1);
    EQ(T.lpWSPGetOverlappedResult(s, &ov, &n, FALSE, &flags, &err), TRUE);
    EQ(n, 8);
    EQ(ev_sets(ov.hEvent) + ev_completions(ov.hEvent), 0); /* hEvent is context here */
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* S9: an overlapped call that completes at once returns 0, and its
 * completion is still notified (upcall, or routine queued). */
static void s9_immediate_overlapped_completion_is_still_notified(void)
{
    SOCKET s = INVALID_SOCKET;
    char buf[32];
    WSABUF b = {sizeof buf, buf};
    WSAOVERLAPPED ov1, ov2;
    DWORD received = 0;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    EQ(send_bytes(s, "abc", 3), 3);
    run_network();
    memset(&ov1, 0, sizeof ov1);
    ov1.hEvent = EVENT(11);
    EQ(recv_overlapped(s, &b, 1, &received, &ov1, NULL), 0);
    EQ(received, 3);
    EQ(R.completions, 1);
    PTR_EQ(R.comp_ov, &ov1);
    EQ(R.comp_bytes, 3);
    EQ(ev_completions(EVENT(11)), 1);

    EQ(send_bytes(s, "defg", 4), 4);
    run_network();
    memset(&ov2, 0, sizeof ov2);
    received = 0;
    EQ(recv_overlapped(s, &b, 1, &received, &ov2, on_complete), 0);
    EQ(received, 4);
    EQ(R.n[UP_QUEUE_APC], 1);
    EQ(drain_apcs(), 1);
    EQ(R.routines, 1);
    EQ(R.routine_bytes, 4);
    EQ(R.completions, 1);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* S7, event mode: closing a socket with a pending recv completes it with
 * WSA_OPERATION_ABORTED through exactly one completion upcall. */
static void s7_close_aborts_pending_recv_with_one_event_completion(void)
{
    SOCKET s = INVALID_SOCKET;
    char buf[16];
    WSABUF b = {sizeof buf, buf};
    WSAOVERLAPPED ov;
    DWORD received = 0;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(20);
    EQ(recv_overlapped(s, &b, 1, &received, &ov, NULL), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    EQ(close_socket(s), 0);
    EQ(R.completions, 1);
    PTR_EQ(R.comp_ov, &ov);
    EQ(R.comp_error, WSA_OPERATION_ABORTED);
    EQ(R.comp_bytes, 0);
    EQ(ev_completions(EVENT(20)), 1);
    EQ(ov.OffsetHigh, WSA_OPERATION_ABORTED);
    NE(ov.Internal, WSS_OPERATION_IN_PROGRESS);
    TRUE_(handle_closed(s));
    FAILS_WITH(close_socket(s), SOCKET_ERROR, WSAENOTSOCK);
    run_network();
    EQ(R.completions, 1);
    EQ(R.n[UP_QUEUE_APC], 0);
    EQ(cleanup(), 0);
    EQ(R.completions, 1);
done:;
}

/* S7, routine mode: one WPUQueueApc; the routine runs once with 995. */
static void s7_close_aborts_pending_recv_with_one_routine_call(void)
{
    SOCKET s = INVALID_SOCKET;
    char buf[16];
    WSABUF b = {sizeof buf, buf};
    WSAOVERLAPPED ov;
    DWORD received = 0;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    memset(&ov, 0, sizeof ov);
    EQ(recv_overlapped(s, &b, 1, &received, &ov, on_complete), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    EQ(close_socket(s), 0);
    EQ(R.n[UP_QUEUE_APC], 1);
    EQ(R.completions, 0);
    EQ(drain_apcs(), 1);
    EQ(R.routines, 1);
    EQ(R.routine_error, WSA_OPERATION_ABORTED);
    EQ(R.routine_bytes, 0);
    PTR_EQ(R.routine_ov, &ov);
    run_network();
    EQ(drain_apcs(), 0);
    EQ(R.routines, 1);
    EQ(cleanup(), 0);
    EQ(R.n[UP_QUEUE_APC], 1);
done:;
}

/* ===================================================================== */
/* S6: the final cleanup                                                  */
/* ===================================================================== */

/* S6c: recvs pending at the final cleanup end with WSA_OPERATION_ABORTED in
 * their WSAOVERLAPPED, and no upcall, no routine, no event at all. */
static void s6c_final_cleanup_aborts_pending_without_notification(void)
{
    SOCKET s1 = INVALID_SOCKET, s2 = INVALID_SOCKET;
    char buf1[16], buf2[16];
    WSABUF b1 = {sizeof buf1, buf1}, b2 = {sizeof buf2, buf2};
    WSAOVERLAPPED ov1, ov2;
    DWORD received = 0;
    REQUIRE(start());
    s1 = connect_service(7, WSA_FLAG_OVERLAPPED);
    s2 = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s1 != INVALID_SOCKET && s2 != INVALID_SOCKET);
    memset(&ov1, 0, sizeof ov1);
    memset(&ov2, 0, sizeof ov2);
    ov1.hEvent = EVENT(30);
    EQ(recv_overlapped(s1, &b1, 1, &received, &ov1, NULL), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    EQ(recv_overlapped(s2, &b2, 1, &received, &ov2, on_complete), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    int sets = R.n[UP_SET_EVENT];
    EQ(cleanup(), 0); /* the final one */
    EQ(R.n[UP_QUEUE_APC], 0);
    EQ(R.completions, 0);
    EQ(R.n[UP_SET_EVENT], sets);
    EQ(ev_completions(EVENT(30)), 0);
    EQ(ov1.OffsetHigh, WSA_OPERATION_ABORTED);
    NE(ov1.Internal, WSS_OPERATION_IN_PROGRESS);
    EQ(ov1.Internal, HOST_STATUS_CANCELLED);
    EQ(ov1.InternalHigh, 0);
    EQ(ov2.OffsetHigh, WSA_OPERATION_ABORTED);
    NE(ov2.Internal, WSS_OPERATION_IN_PROGRESS);
    EQ(ov2.Internal, HOST_STATUS_CANCELLED);
    EQ(ov2.InternalHigh, 0);
    /* S6d: both open sockets were given back. */
    TRUE_(handle_closed(s1));
    TRUE_(handle_closed(s2));
    run_network();
    EQ(drain_apcs(), 0);
    EQ(R.routines, 0);
    EQ(R.completions, 0);
done:;
}

/* S6d: a socket still open at the final cleanup is reset (the peer sees it)
 * and its handle given back with WPUCloseSocketHandle. */
static void s6d_final_cleanup_resets_open_sockets(void)
{
    static char data[1000];
    unsigned resets = loopback_service_resets(9);
    SOCKET s = INVALID_SOCKET;
    REQUIRE(start());
    s = connect_service(9, 0);
    REQUIRE(s != INVALID_SOCKET);
    EQ(send_bytes(s, data, sizeof data), sizeof data);
    run_network();
    EQ(loopback_service_resets(9), resets);
    int closes = R.n[UP_CLOSE_SOCKET_HANDLE];
    EQ(cleanup(), 0);
    EQ(loopback_service_resets(9), resets + 1);
    /* In a stack each layer's socket sits on one of the provider below,
     * with a handle of its own: all of them are given back. */
    EQ(R.n[UP_CLOSE_SOCKET_HANDLE], closes + 1 + g_layers);
    EQ(R.last_closed, s);
    TRUE_(handle_closed(s));
done:;
}

/* S6e/S6g: a socket closed gracefully with unsent data is not reset by the
 * final cleanup; the cleanup returns 0 and the data keeps flowing to the
 * peer, which then sees a graceful close after all of it. */
static void s6e_s6g_closed_socket_data_outlives_final_cleanup(void)
{
    static char chunk[4096];
    unsigned resets = loopback_service_resets(19);
    unsigned graceful = loopback_service_graceful(19);
    uint64_t bytes = loopback_service_bytes(19);
    long long sent_total = 0;
    SOCKET s = INVALID_SOCKET;
    REQUIRE(start());
    s = connect_service(19, 0);
    REQUIRE(s != INVALID_SOCKET);
    REQUIRE(EQ(ioctl_fionbio(s, 1), 0));
    for (int i = 0; i < 100000; i++) {
        WSABUF b = {sizeof chunk, chunk};
        DWORD sent = 0;
        err = 0;
        if (T.lpWSPSend(s, &b, 1, &sent, 0, NULL, NULL, NULL, &err) != 0)
            break;
        sent_total += sent;
    }
    EQ(err, WSAEWOULDBLOCK);
    TRUE_(sent_total > 0);
    EQ(close_socket(s), 0); /* graceful, default linger: returns at once */
    TRUE_(handle_closed(s));
    EQ(cleanup(), 0); /* the final one */
    EQ(loopback_service_resets(19), resets);
    EQ(loopback_service_bytes(19), bytes); /* still stalled */
    loopback_set_read_rate(19, -1);
    run_network();
    EQ((long long)(loopback_service_bytes(19) - bytes), sent_total);
    EQ(loopback_service_graceful(19), graceful + 1);
    EQ(loopback_service_resets(19), resets);
done:
    loopback_set_read_rate(19, 0);
}

/* S6h: startup works again at once after the final cleanup, and every
 * handle from before is WSAENOTSOCK, even when the host (sloppy mode) still
 * answers their old contexts; none aliases a new socket. */
static void s6h_restart_at_once_and_old_handles_are_stale(void)
{
    SOCKET old[5];
    int n_old = 0;
    SOCKET fresh[3];
    struct sockaddr_in a;
    REQUIRE(start());
    old[n_old++] = new_socket(0, 0);
    old[n_old++] = new_socket(1, 0);
    old[n_old++] = connect_service(7, 0);
    old[n_old++] = new_socket(0, WSA_FLAG_OVERLAPPED);
    for (int i = 0; i < n_old; i++)
        REQUIRE(NE(old[i], INVALID_SOCKET));
    /* A socket closed before the cleanup: stale already. */
    old[n_old] = new_socket(0, 0);
    REQUIRE(NE(old[n_old], INVALID_SOCKET));
    EQ(close_socket(old[n_old]), 0);
    g_sloppy = 1;
    FAILS_WITH(sock_name(old[n_old], &a), SOCKET_ERROR, WSAENOTSOCK);
    FAILS_WITH(close_socket(old[n_old]), SOCKET_ERROR, WSAENOTSOCK);
    g_sloppy = 0;
    n_old++;
    REQUIRE(EQ(cleanup(), 0)); /* the final one */
    REQUIRE(start());          /* at once */
    for (int i = 0; i < 3; i++) {
        fresh[i] = new_socket(i == 1, 0);
        NE(fresh[i], INVALID_SOCKET);
    }
    g_sloppy = 1;
    for (int i = 0; i < n_old; i++) {
        FAILS_WITH(sock_name(old[i], &a), SOCKET_ERROR, WSAENOTSOCK);
        FAILS_WITH(T.lpWSPListen(old[i], 1, &err), SOCKET_ERROR, WSAENOTSOCK);
        FAILS_WITH(close_socket(old[i]), SOCKET_ERROR, WSAENOTSOCK);
    }
    g_sloppy = 0;
    /* The new sockets were not touched through the old handles. */
    EQ(bind_to(fresh[0], sin4(127, 0, 0, 1, 0)), 0);
    EQ(sock_name(fresh[0], &a), 0);
    EQ(T.lpWSPListen(fresh[0], 1, &err), 0);
    for (int i = 0; i < 3; i++)
        EQ(close_socket(fresh[i]), 0);
    EQ(cleanup(), 0);
done:
    g_sloppy = 0;
}

/* ===================================================================== */
/* S13: bad input                                                         */
/* ===================================================================== */

/* S13: null or short required pointers are WSAEFAULT and change nothing;
 * a null lpErrno is never written. */
static void s13_bad_pointers_are_wsaefault_and_change_nothing(void)
{
    SOCKET l = INVALID_SOCKET, c = INVALID_SOCKET, a = INVALID_SOCKET;
    SOCKET f = INVALID_SOCKET, g = INVALID_SOCKET, o = INVALID_SOCKET;
    char buf[16];
    WSABUF b = {sizeof buf, buf};
    DWORD n = 0, flags = 0;
    struct sockaddr_in any = sin4(127, 0, 0, 1, 0), echo = sin4(127, 0, 0, 2, 7), p;
    int len = sizeof p;
    WSAOVERLAPPED ov;
    REQUIRE(start());
    REQUIRE(stream_pair(&l, &c, &a));
    EQ(send_bytes(c, "abc", 3), 3);
    EQ(ioctl_fionread(a), 3);
    /* Null WSABUF arrays with a count > 0, null lpFlags. */
    FAILS_WITH(T.lpWSPSend(c, NULL, 1, &n, 0, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAEFAULT);
    FAILS_WITH(T.lpWSPRecv(a, NULL, 1, &n, &flags, NULL, NULL, NULL, &err), SOCKET_ERROR,
               WSAEFAULT);
    FAILS_WITH(T.lpWSPRecv(a, &b, 1, &n, NULL, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAEFAULT);
    FAILS_WITH(T.lpWSPSendTo(c, NULL, 2, &n, 0, NULL, 0, NULL, NULL, NULL, &err), SOCKET_ERROR,
               WSAEFAULT);
    FAILS_WITH(T.lpWSPRecvFrom(a, NULL, 1, &n, &flags, NULL, NULL, NULL, NULL, NULL, &err),
               SOCKET_ERROR, WSAEFAULT);
    EQ(ioctl_fionread(a), 3); /* nothing was sent or consumed */
    EQ(recv_bytes(a, buf, 3), 3);
    EQ(memcmp(buf, "abc", 3), 0);

    /* Null or short sockaddr to bind. */
    f = new_socket(0, 0);
    REQUIRE(NE(f, INVALID_SOCKET));
    FAILS_WITH(T.lpWSPBind(f, NULL, sizeof any, &err), SOCKET_ERROR, WSAEFAULT);
    FAILS_WITH(T.lpWSPBind(f, (struct sockaddr *)&any, 8, &err), SOCKET_ERROR, WSAEFAULT);
    EQ(bind_to(f, any), 0); /* still unbound before: this works */

    /* Null or short sockaddr to connect. */
    g = new_socket(0, 0);
    REQUIRE(NE(g, INVALID_SOCKET));
    FAILS_WITH(T.lpWSPConnect(g, NULL, sizeof echo, NULL, NULL, NULL, NULL, &err), SOCKET_ERROR,
               WSAEFAULT);
    FAILS_WITH(T.lpWSPConnect(g, (struct sockaddr *)&echo, 15, NULL, NULL, NULL, NULL, &err),
               SOCKET_ERROR, WSAEFAULT);
    FAILS_WITH(T.lpWSPGetPeerName(g, (struct sockaddr *)&p, &len, &err), SOCKET_ERROR,
               WSAENOTCONN);
    EQ(connect_to(g, echo), 0); /* still unconnected before: this works */
    /* A short name buffer for getsockname. */
    len = 8;
    FAILS_WITH(T.lpWSPGetSockName(g, (struct sockaddr *)&p, &len, &err), SOCKET_ERROR,
               WSAEFAULT);

    /* A null lpErrno: the failure value, no crash. */
    EQ(T.lpWSPSend(c, NULL, 1, &n, 0, NULL, NULL, NULL, NULL), SOCKET_ERROR);
    EQ(T.lpWSPGetSockName((SOCKET)0x3, (struct sockaddr *)&p, &len, NULL), SOCKET_ERROR);
    EQ(T.lpWSPSocket(AF_INET, 77, 0, NULL, 0, 0, NULL), INVALID_SOCKET);

    /* S9: an overlapped call refused for a bad pointer never completes and
     * leaves the WSAOVERLAPPED as it was. */
    o = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(o != INVALID_SOCKET);
    memset(&ov, 0, sizeof ov);
    ov.Internal = 0x55;
    ov.hEvent = EVENT(40);
    FAILS_WITH(T.lpWSPRecv(o, NULL, 1, &n, &flags, &ov, NULL, &g_thread, &err), SOCKET_ERROR,
               WSAEFAULT);
    FAILS_WITH(T.lpWSPRecv(o, &b, 1, &n, NULL, &ov, NULL, &g_thread, &err), SOCKET_ERROR,
               WSAEFAULT);
    FAILS_WITH(T.lpWSPRecv(o, &b, 1, &n, &flags, &ov, on_complete, NULL, &err), SOCKET_ERROR,
               WSAEFAULT);
    EQ(ov.Internal, 0x55);
    EQ(send_bytes(o, "late", 4), 4);
    run_network();
    EQ(R.completions, 0);
    EQ(R.n[UP_QUEUE_APC], 0);
    EQ(ev_resets(EVENT(40)) + ev_sets(EVENT(40)), 0);
    EQ(recv_bytes(o, buf, 4), 4); /* the data is all still there */
    EQ(memcmp(buf, "late", 4), 0);
done:
    CLOSE_IF_OPEN(l);
    CLOSE_IF_OPEN(c);
    CLOSE_IF_OPEN(a);
    CLOSE_IF_OPEN(f);
    CLOSE_IF_OPEN(g);
    CLOSE_IF_OPEN(o);
    EQ(cleanup(), 0);
}

/* S13: a SOCKET the host never issued, or one already closed, is
 * WSAENOTSOCK. */
static void s13_unknown_or_closed_handle_is_wsaenotsock(void)
{
    SOCKET never[3];
    struct sockaddr_in a;
    char buf[4];
    REQUIRE(start());
    never[0] = (SOCKET)0x3;                                       /* not 0x1000 + 4n */
    never[1] = (SOCKET)(0x1000 + 4 * (uintptr_t)(g_handle_count + 100)); /* not yet issued */
    never[2] = (SOCKET)0;
    for (int i = 0; i < 3; i++) {
        FAILS_WITH(sock_name(never[i], &a), SOCKET_ERROR, WSAENOTSOCK);
        FAILS_WITH(close_socket(never[i]), SOCKET_ERROR, WSAENOTSOCK);
        FAILS_WITH(send_bytes(never[i], "x", 1), -1, WSAENOTSOCK);
        FAILS_WITH(recv_bytes(never[i], buf, 1), -1, WSAENOTSOCK);
        FAILS_WITH(T.lpWSPListen(never[i], 1, &err), SOCKET_ERROR, WSAENOTSOCK);
        FAILS_WITH(T.lpWSPShutdown(never[i], SD_BOTH, &err), SOCKET_ERROR, WSAENOTSOCK);
    }
    SOCKET s = new_socket(0, 0);
    REQUIRE(NE(s, INVALID_SOCKET));
    EQ(close_socket(s), 0);
    FAILS_WITH(close_socket(s), SOCKET_ERROR, WSAENOTSOCK);
    FAILS_WITH(sock_name(s, &a), SOCKET_ERROR, WSAENOTSOCK);
    EQ(cleanup(), 0);
done:;
}

/* ===================================================================== */
/* Event and window select                                                */
/* ===================================================================== */

/* WSPEventSelect: FD_READ after the echo replies is signalled with
 * WPUSetEvent; WSPEnumNetworkEvents copies and clears the record and
 * resets the event given with WPUResetEvent. */
static void event_select_signals_and_enum_resets(void)
{
    SOCKET s = INVALID_SOCKET;
    WSANETWORKEVENTS ne;
    char buf[8];
    REQUIRE(start());
    s = connect_service(7, 0);
    REQUIRE(s != INVALID_SOCKET);
    REQUIRE(EQ(T.lpWSPEventSelect(s, EVENT(50), FD_READ | FD_CLOSE, &err), 0));
    int sets = ev_sets(EVENT(50));
    EQ(send_bytes(s, "ping", 4), 4);
    run_network();
    TRUE_(ev_sets(EVENT(50)) > sets);
    int resets = ev_resets(EVENT(50));
    memset(&ne, 0x77, sizeof ne);
    EQ(T.lpWSPEnumNetworkEvents(s, EVENT(50), &ne, &err), 0);
    EQ(ne.lNetworkEvents, FD_READ);
    EQ(ne.iErrorCode[FD_READ_BIT], 0);
    EQ(ev_resets(EVENT(50)), resets + 1);
    /* The record was cleared; no event given: no reset. */
    memset(&ne, 0x77, sizeof ne);
    EQ(T.lpWSPEnumNetworkEvents(s, NULL, &ne, &err), 0);
    EQ(ne.lNetworkEvents, 0);
    EQ(ev_resets(EVENT(50)), resets + 1);
    /* Event select made the socket non-blocking. */
    EQ(recv_bytes(s, buf, 4), 4);
    EQ(memcmp(buf, "ping", 4), 0);
    FAILS_WITH(recv_bytes(s, buf, 1), -1, WSAEWOULDBLOCK);
    FAILS_WITH(T.lpWSPEnumNetworkEvents(s, EVENT(50), NULL, &err), SOCKET_ERROR, WSAEFAULT);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* WSPAsyncSelect: FD_READ is posted with WPUPostMessage, wParam = the
 * socket, lParam = MAKELONG(event, error). */
static void async_select_posts_fd_read(void)
{
    SOCKET s = INVALID_SOCKET;
    HWND hwnd = (HWND)(uintptr_t)0x999;
    REQUIRE(start());
    s = connect_service(7, 0);
    REQUIRE(s != INVALID_SOCKET);
    REQUIRE(EQ(T.lpWSPAsyncSelect(s, hwnd, 0x405, FD_READ, &err), 0));
    EQ(send_bytes(s, "pong", 4), 4);
    run_network();
    TRUE_(R.n[UP_POST_MESSAGE] >= 1);
    PTR_EQ(R.post_hwnd, hwnd);
    EQ(R.post_msg, 0x405);
    EQ(R.post_wparam, s);
    EQ(WSAGETSELECTEVENT(R.post_lparam), FD_READ);
    EQ(WSAGETSELECTERROR(R.post_lparam), 0);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* Spec 13: WSPSelect over the provider's own sockets: a poll reports the
 * ready subset of each set, rewriting it; an entry that is not this
 * provider's socket is WSAENOTSOCK with the sets left as they were; no set,
 * every set empty, a negative timeout: WSAEINVAL. */
static void spec13_select_over_the_providers_sockets(void)
{
    SOCKET s = INVALID_SOCKET;
    fd_set rd, wr;
    struct timeval poll = {0, 0}, negative = {-1, 0};
    REQUIRE(start());
    s = connect_service(7, 0);
    REQUIRE(s != INVALID_SOCKET);
    memset(&rd, 0, sizeof rd);
    memset(&wr, 0, sizeof wr);
    rd.fd_count = 1;
    rd.fd_array[0] = s;
    wr.fd_count = 1;
    wr.fd_array[0] = s;
    err = 0;
    EQ(T.lpWSPSelect(0, &rd, &wr, NULL, &poll, &err), 1);
    EQ(rd.fd_count, 0);
    EQ(wr.fd_count, 1);
    EQ(wr.fd_array[0], s);
    EQ(send_bytes(s, "ping", 4), 4);
    run_network();
    rd.fd_count = 2; /* listed twice: reported once */
    rd.fd_array[0] = s;
    rd.fd_array[1] = s;
    EQ(T.lpWSPSelect(0, &rd, NULL, NULL, &poll, &err), 1);
    EQ(rd.fd_count, 1);
    EQ(rd.fd_array[0], s);
    rd.fd_count = 2;
    rd.fd_array[1] = (SOCKET)0x4444;
    FAILS_WITH(T.lpWSPSelect(0, &rd, NULL, NULL, &poll, &err), SOCKET_ERROR, WSAENOTSOCK);
    EQ(rd.fd_count, 2);
    FAILS_WITH(T.lpWSPSelect(0, NULL, NULL, NULL, &poll, &err), SOCKET_ERROR, WSAEINVAL);
    rd.fd_count = 0;
    FAILS_WITH(T.lpWSPSelect(0, &rd, NULL, NULL, &poll, &err), SOCKET_ERROR, WSAEINVAL);
    rd.fd_count = 1;
    rd.fd_array[0] = s;
    FAILS_WITH(T.lpWSPSelect(0, &rd, NULL, NULL, &negative, &err), SOCKET_ERROR, WSAEINVAL);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* Spec 14: addresses as text, in the forms WSAAddressToString and
 * WSAStringToAddress use; a short buffer is WSAEFAULT with the length
 * needed; a string that is not an address of the family is WSAEINVAL, with
 * the family zeroed and the length left alone. */
static void spec14_address_strings_in_the_forms_windows_uses(void)
{
    struct sockaddr_in a = sin4(10, 1, 2, 3, 8080);
    static const char want[] = "10.1.2.3:8080";
    WCHAR text[64];
    DWORD len = 4;
    REQUIRE(start());
    FAILS_WITH(T.lpWSPAddressToString((struct sockaddr *)&a, sizeof a, &g_tcp_info, text, &len,
                                      &err),
               SOCKET_ERROR, WSAEFAULT);
    EQ(len, sizeof want);
    len = 64;
    EQ(T.lpWSPAddressToString((struct sockaddr *)&a, sizeof a, &g_tcp_info, text, &len, &err), 0);
    EQ(len, sizeof want);
    for (size_t i = 0; i < sizeof want; i++)
        EQ(text[i], (WCHAR)want[i]);
    {
        static const char six[] = "[::1]:65535";
        WCHAR in[16];
        struct sockaddr_in6 out6;
        int outlen = sizeof out6;
        for (size_t i = 0; i < sizeof six; i++)
            in[i] = (WCHAR)six[i];
        EQ(T.lpWSPStringToAddress(in, AF_INET6, &g_tcp_info, (struct sockaddr *)&out6, &outlen,
                                  &err),
           0);
        EQ(outlen, sizeof out6);
        EQ(out6.sin6_family, AF_INET6);
        EQ(((const unsigned char *)&out6.sin6_port)[0] << 8 |
               ((const unsigned char *)&out6.sin6_port)[1],
           65535);
        outlen = 16;
        FAILS_WITH(T.lpWSPStringToAddress(in, AF_INET6, &g_tcp_info, (struct sockaddr *)&out6,
                                          &outlen, &err),
                   SOCKET_ERROR, WSAEFAULT);
        EQ(outlen, sizeof out6);
    }
    {
        static const char bad[] = "1.2.3.4:0";
        WCHAR in[16];
        struct sockaddr_in out = sin4(1, 1, 1, 1, 1);
        int outlen = sizeof out;
        for (size_t i = 0; i < sizeof bad; i++)
            in[i] = (WCHAR)bad[i];
        FAILS_WITH(T.lpWSPStringToAddress(in, AF_INET, &g_tcp_info, (struct sockaddr *)&out,
                                          &outlen, &err),
                   SOCKET_ERROR, WSAEINVAL);
        EQ(out.sin_family, 0);
        EQ(outlen, sizeof out);
    }
done:
    EQ(cleanup(), 0);
}

/* WSPSendDisconnect / WSPRecvDisconnect without disconnect data shut a
 * direction, as WSPShutdown does (S8); disconnect data is WSAENOPROTOOPT
 * (the SPI pages' answer: not supported). */
static void spec14_disconnects_without_data_shut_a_direction(void)
{
    SOCKET s = INVALID_SOCKET;
    char buf[8] = {0};
    WSABUF data = {sizeof buf, buf};
    REQUIRE(start());
    s = connect_service(7, 0);
    REQUIRE(s != INVALID_SOCKET);
    FAILS_WITH(T.lpWSPSendDisconnect(s, &data, &err), SOCKET_ERROR, WSAENOPROTOOPT);
    FAILS_WITH(T.lpWSPRecvDisconnect(s, &data, &err), SOCKET_ERROR, WSAENOPROTOOPT);
    err = 0;
    EQ(T.lpWSPSendDisconnect(s, NULL, &err), 0);
    {
        WSABUF b = {1, buf};
        DWORD n = 0;
        FAILS_WITH(T.lpWSPSend(s, &b, 1, &n, 0, NULL, NULL, NULL, &err), SOCKET_ERROR,
                   WSAESHUTDOWN);
    }
    err = 0;
    EQ(T.lpWSPRecvDisconnect(s, NULL, &err), 0);
    {
        WSABUF b = {sizeof buf, buf};
        DWORD n = 0, flags = 0;
        FAILS_WITH(T.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL, &err), SOCKET_ERROR,
                   WSAESHUTDOWN);
    }
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

static int ioctl_out(SOCKET s, DWORD code, void *in, DWORD inlen, void *out, DWORD outlen,
                     DWORD *got, WSAOVERLAPPED *ov)
{
    err = 0;
    return T.lpWSPIoctl(s, code, in, inlen, out, outlen, got, ov, NULL, &g_thread, &err);
}

/* Spec 14: the handle queries (SIO_BSP_HANDLE*: the socket itself, a layer
 * answering for itself; SIO_BASE_HANDLE: the base provider's socket, which
 * a layer passes down), SIOCATMARK, SIO_KEEPALIVE_VALS, and an overlapped
 * ioctl (finished at once: 0, its completion told, S9). */
static void spec14_ioctls_handles_atmark_keepalive_and_overlapped(void)
{
    SOCKET s = INVALID_SOCKET, u = INVALID_SOCKET, h = 0;
    DWORD got = 0;
    u_long mark = 0;
    char small[2];
    DWORD keepalive[3] = {1, 7200000, 1000};
    WSAOVERLAPPED ov;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    EQ(ioctl_out(s, SIO_BSP_HANDLE_SELECT, NULL, 0, &h, sizeof h, &got, NULL), 0);
    EQ(h, s);
    EQ(got, sizeof h);
    EQ(ioctl_out(s, SIO_BSP_HANDLE, NULL, 0, &h, sizeof h, &got, NULL), 0);
    EQ(h, s);
    h = 0;
    EQ(ioctl_out(s, SIO_BASE_HANDLE, NULL, 0, &h, sizeof h, &got, NULL), 0);
    if (g_layers == 0)
        EQ(h, s); /* a base provider is its own base */
    else
        TRUE_(h != s && h != 0); /* the base below the stack */
    FAILS_WITH(ioctl_out(s, SIO_BASE_HANDLE, NULL, 0, small, sizeof small, &got, NULL),
               SOCKET_ERROR, WSAEFAULT);
    FAILS_WITH(ioctl_out(s, SIO_BSP_HANDLE_SELECT, NULL, 0, small, sizeof small, &got, NULL),
               SOCKET_ERROR, WSAEFAULT);
    EQ(ioctl_out(s, SIOCATMARK, NULL, 0, &mark, sizeof mark, &got, NULL), 0);
    EQ(mark, 1); /* no out-of-band data waits */
    EQ(ioctl_out(s, SIO_KEEPALIVE_VALS, keepalive, sizeof keepalive, NULL, 0, &got, NULL), 0);
    FAILS_WITH(ioctl_out(s, SIO_KEEPALIVE_VALS, keepalive, 8, NULL, 0, &got, NULL), SOCKET_ERROR,
               WSAEFAULT);
    u = new_socket(1, 0);
    REQUIRE(NE(u, INVALID_SOCKET));
    FAILS_WITH(ioctl_out(u, SIO_KEEPALIVE_VALS, keepalive, sizeof keepalive, NULL, 0, &got, NULL),
               SOCKET_ERROR, WSAENOPROTOOPT);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(41);
    FAILS_WITH(ioctl_out(s, SIO_BSP_HANDLE_POLL, NULL, 0, &h, sizeof h, &got, &ov), SOCKET_ERROR,
               WSAEFAULT);
    EQ(ev_completions(EVENT(41)), 0);
    h = 0;
    EQ(ioctl_out(s, SIO_BSP_HANDLE_SELECT, NULL, 0, &h, sizeof h, &got, &ov), 0);
    EQ(h, s);
    run_network();
    EQ(ev_completions(EVENT(41)), 1); /* finished at once, still told (S9) */
    EQ(ov.InternalHigh, sizeof h);
    EQ(ov.OffsetHigh, 0);
    /* An unknown code: WSAEOPNOTSUPP and no bytes, as Windows answers it;
     * overlapped, pending and then a completion with that error (spec 14). */
    got = 5;
    FAILS_WITH(ioctl_out(s, 0x98000099, NULL, 0, NULL, 0, &got, NULL), SOCKET_ERROR,
               WSAEOPNOTSUPP);
    EQ(got, 0);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(45);
    FAILS_WITH(ioctl_out(s, 0x98000099, NULL, 0, NULL, 0, &got, &ov), SOCKET_ERROR,
               WSA_IO_PENDING);
    run_network();
    EQ(ev_completions(EVENT(45)), 1); /* told once */
    {
        DWORD n = 7, flags = 0;
        INT err = 0;
        FAILS_WITH(T.lpWSPGetOverlappedResult(s, &ov, &n, FALSE, &flags, &err), FALSE,
                   WSAEOPNOTSUPP);
        EQ(n, 0);
    }
done:
    CLOSE_IF_OPEN(s);
    CLOSE_IF_OPEN(u);
    EQ(cleanup(), 0);
}

/* The error an extension function left: the thread's last error. */
static int last_error(void)
{
#ifdef _WIN32
    return (int)GetLastError();
#else
    return p_WSPLastError();
#endif
}

typedef BOOL(WINAPI *connectex_fn)(SOCKET, const struct sockaddr *, int, PVOID, DWORD, LPDWORD,
                                   LPWSAOVERLAPPED);

/* Spec 14: SIO_GET_EXTENSION_FUNCTION_POINTER hands out the provider's
 * ConnectEx (an unknown GUID is WSAEINVAL); it refuses an unbound socket
 * (FALSE, WSAEINVAL); on a bound one it is an overlapped connect, told
 * once (S9), after which SO_UPDATE_CONNECT_CONTEXT is accepted and bytes
 * go both ways; a send buffer goes with the connect, in the same
 * operation. */
static void spec14_connectex_from_the_extension_pointer(void)
{
    static const GUID connectex = {
        0x25a207b9, 0xddf3, 0x4660, {0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e}};
    static const GUID unknown = {0x12345678, 0x1234, 0x1234, {1, 2, 3, 4, 5, 6, 7, 8}};
    SOCKET s = INVALID_SOCKET;
    connectex_fn fn = NULL;
    DWORD got = 0, sent = 0, flags = 0;
    struct sockaddr_in echo = sin4(127, 0, 0, 2, 7);
    WSAOVERLAPPED ov;
    char back[4];
    REQUIRE(start());
    s = new_socket(0, WSA_FLAG_OVERLAPPED);
    REQUIRE(NE(s, INVALID_SOCKET));
    FAILS_WITH(ioctl_out(s, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&unknown, sizeof unknown,
                         &fn, sizeof fn, &got, NULL),
               SOCKET_ERROR, WSAEINVAL);
    REQUIRE(EQ(ioctl_out(s, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&connectex,
                         sizeof connectex, &fn, sizeof fn, &got, NULL),
               0));
    EQ(got, sizeof fn);
    REQUIRE(fn != NULL);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(42);
    EQ(fn(s, (struct sockaddr *)&echo, sizeof echo, NULL, 0, &sent, &ov), FALSE);
    EQ(last_error(), WSAEINVAL); /* not bound */
    REQUIRE(EQ(bind_to(s, sin4(127, 0, 0, 1, 0)), 0));
    if (!fn(s, (struct sockaddr *)&echo, sizeof echo, NULL, 0, &sent, &ov))
        EQ(last_error(), WSA_IO_PENDING);
    run_network();
    err = 0;
    EQ(T.lpWSPGetOverlappedResult(s, &ov, &got, FALSE, &flags, &err), TRUE);
    EQ(ev_completions(EVENT(42)), 1); /* told once */
    err = 0;
    EQ(T.lpWSPSetSockOpt(s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0, &err), 0);
    EQ(send_bytes(s, "ping", 4), 4);
    EQ(recv_bytes(s, back, 4), 4);
    EQ(memcmp(back, "ping", 4), 0);
    /* With a send buffer: sent by the same operation once connected, its
     * completion counting the bytes; the echo sends them back. */
    CLOSE_IF_OPEN(s);
    s = new_socket(0, WSA_FLAG_OVERLAPPED);
    REQUIRE(NE(s, INVALID_SOCKET));
    REQUIRE(EQ(bind_to(s, sin4(127, 0, 0, 1, 0)), 0));
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(47);
    if (!fn(s, (struct sockaddr *)&echo, sizeof echo, (PVOID) "pong", 4, &sent, &ov))
        EQ(last_error(), WSA_IO_PENDING);
    run_network();
    err = 0;
    got = 0;
    EQ(T.lpWSPGetOverlappedResult(s, &ov, &got, FALSE, &flags, &err), TRUE);
    EQ(got, 4);
    EQ(ev_completions(EVENT(47)), 1); /* told once */
    EQ(recv_bytes(s, back, 4), 4);
    EQ(memcmp(back, "pong", 4), 0);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

typedef INT(WINAPI *wsarecvmsg_fn)(SOCKET, LPWSAMSG, LPDWORD, LPWSAOVERLAPPED,
                                   LPWSAOVERLAPPED_COMPLETION_ROUTINE);
typedef INT(WSAAPI *wsasendmsg_fn)(SOCKET, LPWSAMSG, DWORD, LPDWORD, LPWSAOVERLAPPED,
                                   LPWSAOVERLAPPED_COMPLETION_ROUTINE);

/* Spec 14: WSASendMsg and WSARecvMsg from the extension pointer, datagram
 * sockets only (a stream socket is WSAEOPNOTSUPP). A message goes to
 * msg.name; a receive fills the buffers and writes the sender, namelen,
 * dwFlags and Control.len (0: no ancillary data); MSG_PEEK leaves the
 * datagram; a datagram bigger than the buffers is WSAEMSGSIZE with
 * MSG_TRUNC (spec 16); overlapped, the receive pends and is told once
 * (S9, S10) with the header written at its completion. */
static void spec14_wsasendmsg_and_wsarecvmsg_from_the_extension_pointer(void)
{
    static const GUID recvmsg_id = {
        0xf689d7c8, 0x6f1f, 0x436b, {0x8a, 0x53, 0xe5, 0x4f, 0xe3, 0x51, 0xc3, 0x22}};
    static const GUID sendmsg_id = {
        0xa441e712, 0x754f, 0x43ca, {0x84, 0xa7, 0x0d, 0xee, 0x44, 0xcf, 0x60, 0x6d}};
    SOCKET u1 = INVALID_SOCKET, u2 = INVALID_SOCKET, s = INVALID_SOCKET;
    wsarecvmsg_fn recv_msg = NULL;
    wsasendmsg_fn send_msg = NULL;
    struct sockaddr_in n1, n2, from;
    char big[100], buf[32];
    DWORD got = 0, n = 0, flags = 0;
    WSABUF b;
    WSAMSG m;
    WSAOVERLAPPED ov;
    for (int i = 0; i < (int)sizeof big; i++)
        big[i] = (char)i;
    REQUIRE(start());
    u1 = new_socket(1, 0);
    u2 = new_socket(1, WSA_FLAG_OVERLAPPED);
    s = new_socket(0, 0);
    REQUIRE(NE(u1, INVALID_SOCKET) && NE(u2, INVALID_SOCKET) && NE(s, INVALID_SOCKET));
    REQUIRE(EQ(ioctl_out(u1, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&sendmsg_id,
                         sizeof sendmsg_id, &send_msg, sizeof send_msg, &got, NULL),
               0));
    REQUIRE(EQ(ioctl_out(u2, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&recvmsg_id,
                         sizeof recvmsg_id, &recv_msg, sizeof recv_msg, &got, NULL),
               0));
    REQUIRE(send_msg != NULL && recv_msg != NULL);
    REQUIRE(EQ(bind_to(u2, sin4(127, 0, 0, 1, 0)), 0));
    REQUIRE(EQ(sock_name(u2, &n2), 0));

    /* A stream socket: WSAEOPNOTSUPP for both. */
    memset(&m, 0, sizeof m);
    b.len = 5;
    b.buf = (char *)"hello";
    m.lpBuffers = &b;
    m.dwBufferCount = 1;
    EQ(send_msg(s, &m, 0, &n, NULL, NULL), SOCKET_ERROR);
    EQ(last_error(), WSAEOPNOTSUPP);
    EQ(recv_msg(s, &m, &n, NULL, NULL), SOCKET_ERROR);
    EQ(last_error(), WSAEOPNOTSUPP);
    /* A null Control.buf with a length: WSAEFAULT. */
    m.Control.len = 8;
    EQ(send_msg(u1, &m, 0, &n, NULL, NULL), SOCKET_ERROR);
    EQ(last_error(), WSAEFAULT);

    /* Two datagrams to u2's name: "hello", then 100 bytes. */
    memset(&m, 0, sizeof m);
    m.name = (struct sockaddr *)&n2;
    m.namelen = sizeof n2;
    m.lpBuffers = &b;
    m.dwBufferCount = 1;
    n = 0;
    EQ(send_msg(u1, &m, 0, &n, NULL, NULL), 0);
    EQ(n, 5);
    b.len = sizeof big;
    b.buf = big;
    EQ(send_msg(u1, &m, 0, &n, NULL, NULL), 0);
    EQ(n, sizeof big);
    REQUIRE(EQ(sock_name(u1, &n1), 0));
    run_network();

    /* A peek, then the receive: the same datagram, the sender named. */
    for (int peek = 1; peek >= 0; peek--) {
        memset(&m, 0, sizeof m);
        memset(&from, 0, sizeof from);
        memset(buf, 0, sizeof buf);
        b.len = sizeof buf;
        b.buf = buf;
        m.name = (struct sockaddr *)&from;
        m.namelen = sizeof from;
        m.lpBuffers = &b;
        m.dwBufferCount = 1;
        m.Control.len = 0;
        m.dwFlags = peek ? MSG_PEEK : 0;
        n = 0;
        EQ(recv_msg(u2, &m, &n, NULL, NULL), 0);
        EQ(n, 5);
        EQ(memcmp(buf, "hello", 5), 0);
        EQ(m.namelen, sizeof from);
        EQ(from.sin_port, n1.sin_port);
        EQ(m.dwFlags & MSG_TRUNC, 0);
    }
    /* 100 bytes into 10: WSAEMSGSIZE, the part that fit, MSG_TRUNC. */
    b.len = 10;
    m.dwFlags = 0;
    m.Control.len = 0;
    EQ(recv_msg(u2, &m, &n, NULL, NULL), SOCKET_ERROR);
    EQ(last_error(), WSAEMSGSIZE);
    EQ(n, 10);
    EQ(memcmp(buf, big, 10), 0);
    EQ(m.dwFlags & MSG_TRUNC, MSG_TRUNC);
    /* Flags other than MSG_PEEK: WSAEOPNOTSUPP. */
    m.dwFlags = MSG_OOB;
    EQ(recv_msg(u2, &m, &n, NULL, NULL), SOCKET_ERROR);
    EQ(last_error(), WSAEOPNOTSUPP);

    /* Overlapped: pending until a datagram comes, told once, the header
     * written at the completion. */
    memset(&m, 0, sizeof m);
    memset(&from, 0, sizeof from);
    memset(buf, 0, sizeof buf);
    b.len = sizeof buf;
    m.name = (struct sockaddr *)&from;
    m.namelen = sizeof from;
    m.lpBuffers = &b;
    m.dwBufferCount = 1;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(46);
    EQ(recv_msg(u2, &m, &n, &ov, NULL), SOCKET_ERROR);
    EQ(last_error(), WSA_IO_PENDING);
    run_network();
    EQ(ev_completions(EVENT(46)), 0);
    {
        WSABUF late = {4, (char *)"late"};
        DWORD sent = 0;
        err = 0;
        EQ(T.lpWSPSendTo(u1, &late, 1, &sent, 0, (struct sockaddr *)&n2, sizeof n2, NULL, NULL,
                         NULL, &err),
           0);
    }
    run_network();
    EQ(ev_completions(EVENT(46)), 1); /* told once */
    err = 0;
    EQ(T.lpWSPGetOverlappedResult(u2, &ov, &n, FALSE, &flags, &err), TRUE);
    EQ(n, 4);
    EQ(memcmp(buf, "late", 4), 0);
    EQ(from.sin_port, n1.sin_port);
    EQ(m.namelen, sizeof from);
done:
    CLOSE_IF_OPEN(u1);
    CLOSE_IF_OPEN(u2);
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

typedef BOOL(WINAPI *acceptex_fn)(SOCKET, SOCKET, PVOID, DWORD, DWORD, DWORD, LPDWORD,
                                  LPWSAOVERLAPPED);
typedef void(WINAPI *getacceptexsockaddrs_fn)(PVOID, DWORD, DWORD, DWORD, struct sockaddr **,
                                              LPINT, struct sockaddr **, LPINT);

/* Spec 14: the provider's AcceptEx takes the next connection into a socket
 * the application made (an overlapped operation on the listener, told
 * once, S9); GetAcceptExSockaddrs finds the addresses it wrote; after
 * SO_UPDATE_ACCEPT_CONTEXT, bytes go both ways. With a receive area, it
 * ends with the first data, in the same operation. */
static void spec14_acceptex_from_the_extension_pointer(void)
{
    static const GUID acceptex = {
        0xb5367df1, 0xcbac, 0x11cf, {0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92}};
    static const GUID sockaddrs = {
        0xb5367df2, 0xcbac, 0x11cf, {0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92}};
    SOCKET l = INVALID_SOCKET, t = INVALID_SOCKET, c = INVALID_SOCKET;
    acceptex_fn accept_fn = NULL;
    getacceptexsockaddrs_fn addrs_fn = NULL;
    struct sockaddr_in at, client;
    struct sockaddr *local = NULL, *remote = NULL;
    int local_len = 0, remote_len = 0;
    char buf[2 * 44], back[4];
    DWORD got = 0, flags = 0, received = 0;
    WSAOVERLAPPED ov;
    REQUIRE(start());
    l = new_socket(0, WSA_FLAG_OVERLAPPED);
    t = new_socket(0, WSA_FLAG_OVERLAPPED);
    REQUIRE(NE(l, INVALID_SOCKET) && NE(t, INVALID_SOCKET));
    REQUIRE(EQ(bind_to(l, sin4(127, 0, 0, 1, 0)), 0) && EQ(sock_name(l, &at), 0));
    err = 0;
    REQUIRE(EQ(T.lpWSPListen(l, 4, &err), 0));
    REQUIRE(EQ(ioctl_out(l, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&acceptex,
                         sizeof acceptex, &accept_fn, sizeof accept_fn, &got, NULL),
               0));
    REQUIRE(EQ(ioctl_out(l, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&sockaddrs,
                         sizeof sockaddrs, &addrs_fn, sizeof addrs_fn, &got, NULL),
               0));
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(43);
    if (!accept_fn(l, t, buf, 0, 44, 44, &received, &ov))
        EQ(last_error(), WSA_IO_PENDING);
    c = new_socket(0, 0);
    REQUIRE(NE(c, INVALID_SOCKET));
    REQUIRE(EQ(connect_to(c, at), 0));
    REQUIRE(EQ(sock_name(c, &client), 0));
    run_network();
    err = 0;
    EQ(T.lpWSPGetOverlappedResult(l, &ov, &got, FALSE, &flags, &err), TRUE);
    EQ(ev_completions(EVENT(43)), 1); /* told once */
    addrs_fn(buf, 0, 44, 44, &local, &local_len, &remote, &remote_len);
    REQUIRE(local != NULL && remote != NULL);
    EQ(local_len, sizeof(struct sockaddr_in));
    EQ(remote_len, sizeof(struct sockaddr_in));
    EQ(port_of((struct sockaddr_in *)local), port_of(&at));
    EQ(port_of((struct sockaddr_in *)remote), port_of(&client));
    err = 0;
    EQ(T.lpWSPSetSockOpt(t, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *)&l, sizeof l,
                         &err),
       0);
    EQ(send_bytes(c, "pong", 4), 4);
    EQ(recv_bytes(t, back, 4), 4);
    EQ(memcmp(back, "pong", 4), 0);
    /* With a receive area: the operation ends with the first data, not the
     * connection; the data at the start of the buffer, the addresses past
     * it. */
    CLOSE_IF_OPEN(c);
    CLOSE_IF_OPEN(t);
    c = INVALID_SOCKET;
    t = new_socket(0, WSA_FLAG_OVERLAPPED);
    REQUIRE(NE(t, INVALID_SOCKET));
    {
        char area[16 + 2 * 44];
        memset(&ov, 0, sizeof ov);
        ov.hEvent = EVENT(48);
        if (!accept_fn(l, t, area, 16, 44, 44, &received, &ov))
            EQ(last_error(), WSA_IO_PENDING);
        c = new_socket(0, 0);
        REQUIRE(NE(c, INVALID_SOCKET));
        REQUIRE(EQ(connect_to(c, at), 0));
        REQUIRE(EQ(sock_name(c, &client), 0));
        run_network();
        EQ(ev_completions(EVENT(48)), 0); /* connected, no data yet */
        EQ(send_bytes(c, "hello", 5), 5);
        run_network();
        EQ(ev_completions(EVENT(48)), 1); /* told once */
        err = 0;
        got = 0;
        EQ(T.lpWSPGetOverlappedResult(l, &ov, &got, FALSE, &flags, &err), TRUE);
        EQ(got, 5);
        EQ(memcmp(area, "hello", 5), 0);
        local = remote = NULL;
        addrs_fn(area, 16, 44, 44, &local, &local_len, &remote, &remote_len);
        REQUIRE(local != NULL && remote != NULL);
        EQ(port_of((struct sockaddr_in *)local), port_of(&at));
        EQ(port_of((struct sockaddr_in *)remote), port_of(&client));
    }
done:
    CLOSE_IF_OPEN(c);
    CLOSE_IF_OPEN(t);
    CLOSE_IF_OPEN(l);
    EQ(cleanup(), 0);
}

/* Spec 14: WSPDuplicateSocket fills a WSAPROTOCOL_INFOW (the socket's,
 * its token in dwProviderReserved) whose WSPSocket (FROM_PROTOCOL_INFO)
 * gives a second handle to the same socket, once; the socket outlives the
 * original's close, and bytes go through the duplicate. Through a stack,
 * each layer hands the next provider's token on. */
static void spec14_duplicate_socket_gives_a_second_handle_to_the_socket(void)
{
    SOCKET s = INVALID_SOCKET, d = INVALID_SOCKET;
    WSAPROTOCOL_INFOW info;
    char back[4];
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    memset(&info, 0, sizeof info);
    err = 0;
    EQ(T.lpWSPDuplicateSocket(s, 4242, &info, &err), 0);
    TRUE_(info.dwProviderReserved != 0);
    EQ(info.iSocketType, SOCK_STREAM);
    err = 0;
    d = T.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                      WSA_FLAG_OVERLAPPED, &err);
    REQUIRE(NE(d, INVALID_SOCKET));
    FAILS_WITH(T.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                             WSA_FLAG_OVERLAPPED, &err),
               INVALID_SOCKET, WSAEINVAL); /* single use */
    EQ(close_socket(s), 0);
    s = INVALID_SOCKET;
    EQ(send_bytes(d, "dup!", 4), 4); /* the connection outlived the original */
    EQ(recv_bytes(d, back, 4), 4);
    EQ(memcmp(back, "dup!", 4), 0);
done:
    CLOSE_IF_OPEN(d);
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

typedef BOOL(WINAPI *transmitfile_fn)(SOCKET, HANDLE, DWORD, DWORD, LPWSAOVERLAPPED,
                                      LPTRANSMIT_FILE_BUFFERS, DWORD);
typedef BOOL(WINAPI *transmitpackets_fn)(SOCKET, LPTRANSMIT_PACKETS_ELEMENT, DWORD, DWORD,
                                         LPWSAOVERLAPPED, DWORD);

/* A file holding "file body" for TransmitFile to read (Windows); NULL
 * elsewhere, where a file handle means nothing to the provider. */
static HANDLE body_file(void)
{
#ifdef _WIN32
    char dir[MAX_PATH], path[MAX_PATH];
    DWORD wrote = 0;
    HANDLE f;
    if (!GetTempPathA(sizeof dir, dir) || !GetTempFileNameA(dir, "wsp", 0, path))
        return NULL;
    f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    if (f == INVALID_HANDLE_VALUE)
        return NULL;
    if (!WriteFile(f, "file body", 9, &wrote, NULL) || wrote != 9) {
        CloseHandle(f);
        return NULL;
    }
    return f;
#else
    return NULL;
#endif
}

/* Spec 14: TransmitFile and TransmitPackets from the extension pointer.
 * What they send (head, file, tail; memory and file elements) goes as one
 * operation, told once (S9, S10); TF_DISCONNECT ends the sending after it
 * (the echo sends everything back, then the end; a later send is
 * WSAESHUTDOWN); TF_REUSE_SOCKET is WSAEOPNOTSUPP. A file is read from
 * the OVERLAPPED's offset (Windows; elsewhere a file is WSAEOPNOTSUPP). */
static void spec14_transmitfile_and_transmitpackets_from_the_extension_pointer(void)
{
    static const GUID transmitfile = {
        0xb5367df0, 0xcbac, 0x11cf, {0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92}};
    static const GUID transmitpackets = {
        0xd9689da0, 0x1f90, 0x11d3, {0x99, 0x71, 0x00, 0xc0, 0x4f, 0x68, 0xc8, 0x76}};
    SOCKET s = INVALID_SOCKET;
    transmitfile_fn tf = NULL;
    transmitpackets_fn tp = NULL;
    HANDLE file = body_file();
    TRANSMIT_FILE_BUFFERS around;
    TRANSMIT_PACKETS_ELEMENT el[3];
    WSAOVERLAPPED ov;
    DWORD got = 0, flags = 0;
    char back[64];
#ifdef _WIN32
    const char *want = "HEADfile bodyTAIL";
#else
    const char *want = "HEADTAIL";
#endif
#ifdef _WIN32
    REQUIRE(file != NULL); /* the file part runs wherever there are files */
#endif
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    REQUIRE(EQ(ioctl_out(s, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&transmitfile,
                         sizeof transmitfile, &tf, sizeof tf, &got, NULL),
               0));
    REQUIRE(EQ(ioctl_out(s, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&transmitpackets,
                         sizeof transmitpackets, &tp, sizeof tp, &got, NULL),
               0));
    REQUIRE(tf != NULL && tp != NULL);
    around.Head = (void *)"HEAD";
    around.HeadLength = 4;
    around.Tail = (void *)"TAIL";
    around.TailLength = 4;
    EQ(tf(s, NULL, 0, 0, NULL, &around, TF_DISCONNECT | TF_REUSE_SOCKET), FALSE);
    EQ(last_error(), WSAEOPNOTSUPP);
#ifndef _WIN32
    EQ(tf(s, (HANDLE)1, 0, 0, NULL, &around, 0), FALSE);
    EQ(last_error(), WSAEOPNOTSUPP); /* no file handles outside Windows */
#endif

    /* TransmitPackets, blocking: two memory elements (and the file's first
     * four bytes on Windows); the socket goes on. */
    memset(el, 0, sizeof el);
    el[0].dwElFlags = TP_ELEMENT_MEMORY;
    el[0].cLength = 3;
    el[0].pBuffer = (void *)"one";
    el[1].dwElFlags = TP_ELEMENT_MEMORY | TP_ELEMENT_EOP;
    el[1].cLength = 3;
    el[1].pBuffer = (void *)"two";
    el[2].dwElFlags = TP_ELEMENT_FILE;
    el[2].cLength = 4;
#ifdef _WIN32
    el[2].nFileOffset.QuadPart = 0;
#else
    el[2].nFileOffset = 0;
#endif
    el[2].hFile = file;
    EQ(tp(s, el, file ? 3 : 2, 0, NULL, 0), TRUE);
    REQUIRE(EQ(recv_bytes(s, back, file ? 10 : 6), file ? 10 : 6));
    EQ(memcmp(back, file ? "onetwofile" : "onetwo", file ? 10 : 6), 0);

    /* TransmitFile, overlapped, with TF_DISCONNECT: head, file, tail as
     * one operation, then the end of the sending. */
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(49);
    if (!tf(s, file, 0, 0, &ov, &around, TF_DISCONNECT))
        EQ(last_error(), WSA_IO_PENDING);
    run_network();
    err = 0;
    got = 0;
    EQ(T.lpWSPGetOverlappedResult(s, &ov, &got, FALSE, &flags, &err), TRUE);
    EQ(got, strlen(want));
    EQ(ev_completions(EVENT(49)), 1); /* told once */
    REQUIRE(EQ(recv_bytes(s, back, (int)strlen(want)), (int)strlen(want)));
    EQ(memcmp(back, want, strlen(want)), 0);
    EQ(send_bytes(s, "x", 1), -1);
    EQ(err, WSAESHUTDOWN);
done:
    CLOSE_IF_OPEN(s);
#ifdef _WIN32
    if (file)
        CloseHandle(file);
#endif
    EQ(cleanup(), 0);
}

typedef BOOL(WINAPI *disconnectex_fn)(SOCKET, LPWSAOVERLAPPED, DWORD, DWORD);

/* Spec 14: the provider's DisconnectEx ends the sending as SD_SEND does
 * (later sends: WSAESHUTDOWN); overlapped, it finishes at once, told (S9);
 * a reserved value is WSAEINVAL. With TF_REUSE_SOCKET the handle is a
 * fresh socket: bound again, a ConnectEx connects it anew. */
static void spec14_disconnectex_from_the_extension_pointer(void)
{
    static const GUID disconnectex = {
        0x7fda2e11, 0x8630, 0x436f, {0xa0, 0x31, 0xf5, 0x36, 0xa6, 0xee, 0xc1, 0x57}};
    SOCKET s = INVALID_SOCKET;
    disconnectex_fn fn = NULL;
    DWORD got = 0;
    WSAOVERLAPPED ov;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    REQUIRE(EQ(ioctl_out(s, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&disconnectex,
                         sizeof disconnectex, &fn, sizeof fn, &got, NULL),
               0));
    EQ(fn(s, NULL, 0, 1), FALSE);
    EQ(last_error(), WSAEINVAL); /* reserved */
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(44);
    EQ(fn(s, &ov, 0, 0), TRUE);
    run_network();
    EQ(ev_completions(EVENT(44)), 1); /* finished at once, still told */
    {
        WSABUF b = {1, (char *)"x"};
        DWORD n = 0;
        FAILS_WITH(T.lpWSPSend(s, &b, 1, &n, 0, NULL, NULL, NULL, &err), SOCKET_ERROR,
                   WSAESHUTDOWN);
    }
    CLOSE_IF_OPEN(s);
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    EQ(fn(s, NULL, 0x02 /* TF_REUSE_SOCKET */, 0), TRUE);
    {
        static const GUID connectex = {
            0x25a207b9, 0xddf3, 0x4660, {0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e}};
        connectex_fn cfn = NULL;
        struct sockaddr_in echo = sin4(127, 0, 0, 2, 7);
        DWORD sent = 0, flags = 0;
        char back[5];
        REQUIRE(EQ(ioctl_out(s, SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&connectex,
                             sizeof connectex, &cfn, sizeof cfn, &got, NULL),
                   0));
        REQUIRE(EQ(bind_to(s, sin4(127, 0, 0, 1, 0)), 0)); /* a fresh socket: unbound */
        memset(&ov, 0, sizeof ov);
        ov.hEvent = EVENT(50);
        if (!cfn(s, (struct sockaddr *)&echo, sizeof echo, (PVOID) "again", 5, &sent, &ov))
            EQ(last_error(), WSA_IO_PENDING);
        run_network();
        err = 0;
        EQ(T.lpWSPGetOverlappedResult(s, &ov, &got, FALSE, &flags, &err), TRUE);
        EQ(recv_bytes(s, back, 5), 5);
        EQ(memcmp(back, "again", 5), 0);
    }
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* The entries the provider does not offer (QOS, multipoint) answer
 * WSAEOPNOTSUPP after a startup (README: after the gate check). */
static void unsupported_entries_are_wsaeopnotsupp(void)
{
    SOCKET s = INVALID_SOCKET;
    struct sockaddr_in a = sin4(127, 0, 0, 1, 80);
    char name[4] = "qos";
    WSABUF b = {3, name};
    REQUIRE(start());
    s = new_socket(0, 0);
    REQUIRE(NE(s, INVALID_SOCKET));
    FAILS_WITH(T.lpWSPGetQOSByName(s, &b, NULL, &err), FALSE, WSAEOPNOTSUPP);
    FAILS_WITH(T.lpWSPJoinLeaf(s, (struct sockaddr *)&a, sizeof a, NULL, NULL, NULL, NULL, 0,
                               &err),
               INVALID_SOCKET, WSAEOPNOTSUPP);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* ===================================================================== */
/* S6d, S6f, S14: threads race the final cleanup                          */
/* ===================================================================== */

#define RACE_WORKERS 3
#define RACE_PASSES 40                     /* at most, per worker and round */
#define RACE_RECORDS (RACE_PASSES * 4 + 4) /* two receives, two sends a pass */

/* One worker's records and buffers: the provider may write them until the
 * final cleanup has returned, so they outlive the worker's calls. */
typedef struct {
    int id;
    WSPPROC_TABLE t; /* a copy: the main thread's startups rewrite T */
    WSAOVERLAPPED ov[RACE_RECORDS];
    char buf[RACE_RECORDS][16];
    int used;
    int passes; /* under the host lock */
} race_worker_t;

static race_worker_t g_race[RACE_WORKERS];

static int race_passes(race_worker_t *w)
{
    host_lock();
    int n = w->passes;
    host_unlock();
    return n;
}

/* A record and its buffer for the next overlapped call, or NULL. */
static WSAOVERLAPPED *race_record(race_worker_t *w, int mode, char **buf)
{
    if (w->used == RACE_RECORDS)
        return NULL;
    WSAOVERLAPPED *ov = &w->ov[w->used];
    *buf = w->buf[w->used];
    w->used++;
    memset(ov, 0, sizeof *ov);
    ov->hEvent = mode == 0 ? EVENT(100 + w->id) : NULL;
    return ov;
}

/* One pass over every entry that makes or releases state: a socket with
 * SO_LINGER {1,0}, connected to the echo peer, overlapped receives and
 * sends in event and routine mode, an event or window registration, a
 * listener with a connection accepted, and closes (every third socket is
 * left open for the final cleanup to reset). Any call may fail (the final
 * cleanup may have run); none may leave anything behind. 0 once WSPSocket
 * is WSANOTINITIALISED. */
static int race_pass(race_worker_t *w, int pass)
{
    const WSPPROC_TABLE *t = &w->t;
    int e = 0;
    SOCKET s = t->lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &g_tcp_info, 0,
                              WSA_FLAG_OVERLAPPED, &e);
    if (s == INVALID_SOCKET)
        return e != WSANOTINITIALISED;
    struct linger l = {1, 0};
    t->lpWSPSetSockOpt(s, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l, &e);
    struct sockaddr_in echo = sin4(127, 0, 0, 2, 7);
    t->lpWSPConnect(s, (struct sockaddr *)&echo, sizeof echo, NULL, NULL, NULL, NULL, &e);
    for (int mode = 0; mode < 2; mode++) {
        LPWSAOVERLAPPED_COMPLETION_ROUTINE routine = mode ? on_complete : NULL;
        char *buf;
        WSAOVERLAPPED *ov = race_record(w, mode, &buf);
        if (ov != NULL) {
            WSABUF b = {16, buf};
            DWORD n = 0, flags = 0;
            t->lpWSPRecv(s, &b, 1, &n, &flags, ov, routine, &g_thread, &e);
        }
        ov = race_record(w, mode, &buf);
        if (ov != NULL) {
            WSABUF b = {16, buf};
            DWORD n = 0;
            memcpy(buf, "race-race-race-!", 16);
            t->lpWSPSend(s, &b, 1, &n, 0, ov, routine, &g_thread, &e);
        }
    }
    if (pass % 2 == 0)
        t->lpWSPEventSelect(s, EVENT(200 + w->id), FD_READ | FD_CLOSE, &e);
    else
        t->lpWSPAsyncSelect(s, (HWND)(uintptr_t)0x999, 0x400, FD_READ | FD_WRITE, &e);
    SOCKET listener = t->lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &g_tcp_info, 0, 0, &e);
    if (listener != INVALID_SOCKET) {
        struct sockaddr_in a = sin4(127, 0, 0, 1, 0);
        int len = sizeof a;
        t->lpWSPBind(listener, (struct sockaddr *)&a, sizeof a, &e);
        t->lpWSPListen(listener, 4, &e);
        t->lpWSPEventSelect(listener, EVENT(300 + w->id), FD_ACCEPT, &e);
        if (t->lpWSPGetSockName(listener, (struct sockaddr *)&a, &len, &e) == 0) {
            SOCKET client =
                t->lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &g_tcp_info, 0, 0, &e);
            if (client != INVALID_SOCKET) {
                t->lpWSPConnect(client, (struct sockaddr *)&a, sizeof a, NULL, NULL, NULL, NULL,
                                &e);
                SOCKET accepted = t->lpWSPAccept(listener, NULL, NULL, NULL, 0, &e);
                if (accepted != INVALID_SOCKET)
                    t->lpWSPCloseSocket(accepted, &e);
                t->lpWSPCloseSocket(client, &e);
            }
        }
        t->lpWSPCloseSocket(listener, &e);
    }
    if (pass % 3 != 2)
        t->lpWSPCloseSocket(s, &e);
    return 1;
}

static void race_worker(void *arg)
{
    race_worker_t *w = arg;
    for (int pass = 0; pass < RACE_PASSES && race_pass(w, pass); pass++) {
        host_lock();
        w->passes++;
        host_unlock();
    }
}

/* S6d, S6f, S14: worker threads make and release state through every entry
 * that does (WSPSocket, WSPAccept, WSPCloseSocket, overlapped receives and
 * sends in event and routine mode, WSPEventSelect, WSPAsyncSelect) while
 * the main thread runs nested startups and cleanups and then the final
 * cleanup. After each round the host's books balance: every handle made by
 * WPUCreateSocketHandle was given back exactly once, no record is left in
 * progress (nothing is carried), and no upcall came after the final cleanup
 * returned. RACE_ROUNDS rounds (default 200; the code before the rundown
 * covered the shim's work failed 4 runs of 5 at 300). */
static void s6d_s6f_threads_race_the_final_cleanup(void)
{
    const char *env = getenv("RACE_ROUNDS");
    int rounds = env != NULL ? atoi(env) : 200;
    unsigned seed = 12345;
    for (int round = 0; round < rounds && g_check_failures == 0; round++) {
        REQUIRE(start());
        host_lock();
        unsigned first_handle = g_handle_count;
        int closes_before = R.n[UP_CLOSE_SOCKET_HANDLE];
        host_unlock();
        thread_t threads[RACE_WORKERS];
        thread_start_t starts[RACE_WORKERS];
        for (int i = 0; i < RACE_WORKERS; i++) {
            g_race[i].id = i;
            g_race[i].t = T;
            g_race[i].used = 0;
            g_race[i].passes = 0;
            starts[i].f = race_worker;
            starts[i].arg = &g_race[i];
            REQUIRE(TRUE_(thread_spawn(&threads[i], &starts[i])));
        }
        /* Once every worker has made a pass: nested pairs, then the final
         * cleanup, at a moment that moves from round to round. */
        for (int i = 0; i < RACE_WORKERS; i++)
            while (race_passes(&g_race[i]) == 0)
                yield_now();
        seed = seed * 1103515245u + 12345u;
        WSPPROC_TABLE nested;
        for (unsigned k = 0; k < (seed >> 16) % 32; k++) {
            EQ(startup_with(MAKEWORD(2, 2), upcall_table(0), &nested), 0);
            err = 0;
            EQ(nested.lpWSPCleanup(&err), 0);
        }
        EQ(cleanup(), 0);
        host_lock();
        g_after_final_cleanup = 1;
        host_unlock();
        for (int i = 0; i < RACE_WORKERS; i++)
            thread_join(threads[i]);
        host_lock();
        int late = g_late, doubles = g_double_closes;
        unsigned open = 0;
        for (unsigned i = first_handle; i < g_handle_count; i++)
            open += !g_handles[i].closed;
        int made = (int)(g_handle_count - first_handle);
        int closes = R.n[UP_CLOSE_SOCKET_HANDLE] - closes_before;
        g_after_final_cleanup = 0;
        host_unlock();
        EQ(late, 0);
        EQ(doubles, 0);
        EQ(open, 0);
        EQ(closes, made);
        for (int i = 0; i < RACE_WORKERS; i++)
            for (int r = 0; r < g_race[i].used; r++)
                NE(g_race[i].ov[r].Internal, WSS_OPERATION_IN_PROGRESS);
        drain_apcs();
        if (g_check_failures > 0)
            printf("  (round %d of %d)\n", round, rounds);
    }
done:;
}

/* ===================================================================== */
/* Driver                                                                 */
/* ===================================================================== */

static void run_check(const char *name, void (*check)(void))
{
    g_check = name;
    g_check_failures = 0;
    drain_apcs(); /* leftovers of an earlier check: run, not counted */
    memset(&R, 0, sizeof R);
    memset(g_events, 0, sizeof g_events);
    g_event_count = 0;
    g_sloppy = 0;
    check();
    g_sloppy = 0;
    /* Independence: leave no startup in force, whatever the check did. */
    int startups_left_in_force = 0;
    if (g_cleanup != NULL) {
        int e = 0;
        while (startups_left_in_force < 16 && g_cleanup(&e) == 0)
            startups_left_in_force++;
    }
    EQ(startups_left_in_force, 0);
    g_checks++;
    if (g_check_failures > 0)
        g_failed++;
    else
        printf("ok %s\n", name);
    fflush(stdout);
}

#define RUN(check) run_check(#check, check)

/* ===================================================================== */
/* A stack (--layer): what only a layered provider promises (spec 11)     */
/* ===================================================================== */

/* Spec 11: every startup of the layer is mirrored to the next provider,
 * one for one, and so is every cleanup: the base's count follows the
 * top layer's through every layer of the stack. */
static void layered_s1_startups_and_cleanups_are_mirrored_one_for_one(void)
{
    WSPPROC_TABLE t2;
    EQ(loopback_startup_count(), 0);
    REQUIRE(start());
    EQ(loopback_startup_count(), 1);
    EQ(startup_with(MAKEWORD(2, 2), upcall_table(0), &t2), 0);
    EQ(loopback_startup_count(), 2);
    /* A refused startup (a version too old) is mirrored by nothing. */
    EQ(startup_with(MAKEWORD(1, 1), upcall_table(0), &t2), WSAVERNOTSUPPORTED);
    EQ(loopback_startup_count(), 2);
    EQ(cleanup(), 0);
    EQ(loopback_startup_count(), 1);
    EQ(cleanup(), 0);
    EQ(loopback_startup_count(), 0);
done:;
}

/* Spec 11, S6c, S6d one level down: the layer's final cleanup aborts the
 * application's pending operations telling nobody, resets its sockets, and
 * then cleans the next provider up, which aborts its own operations (the
 * layer's, posted below) and resets its sockets: nothing is left open in
 * the base, and its count is 0. */
static void layered_s6c_final_cleanup_leaves_nothing_below(void)
{
    SOCKET s = INVALID_SOCKET;
    char buf[16];
    WSABUF b = {sizeof buf, buf};
    WSAOVERLAPPED ov;
    DWORD received = 0;
    unsigned first_handle = g_handle_count;
    REQUIRE(start());
    s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    TRUE_(loopback_socket_count() >= 1);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(31);
    EQ(recv_overlapped(s, &b, 1, &received, &ov, NULL), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    int sets = R.n[UP_SET_EVENT];
    EQ(cleanup(), 0); /* the final one */
    EQ(R.n[UP_SET_EVENT], sets);
    EQ(R.completions, 0);
    EQ(ov.OffsetHigh, WSA_OPERATION_ABORTED);
    EQ(loopback_startup_count(), 0);
    EQ(loopback_socket_count(), 0);
    TRUE_(handle_closed(s));
    /* Every handle either provider made (the layer's and the base's) was
     * given back. */
    unsigned open = 0;
    for (unsigned i = first_handle; i < g_handle_count; i++)
        open += !g_handles[i].closed;
    EQ(open, 0);
    EQ(g_handle_count - first_handle, 1 + g_layers);
done:;
}

/* The counting layer reports, at close, exactly the bytes the application
 * sent and received on a socket connected to the echo at `to`, through
 * every layer below it. */
static void counts_reported_at_close_are_exact(struct sockaddr_in to)
{
    static const char payload[] = "counted at the top of the stack";
    char echoed[sizeof payload];
    unsigned int before = 0;
    uint64_t sent = 0, received = 0;
    SOCKET s = INVALID_SOCKET;
    while (counting_layer_closed(before, &sent, &received) == 1)
        before++;
    REQUIRE(start());
    s = new_socket(0, 0);
    REQUIRE(NE(s, INVALID_SOCKET));
    REQUIRE(EQ(connect_to(s, to), 0));
    EQ(send_bytes(s, payload, (int)sizeof payload), (int)sizeof payload);
    EQ(recv_bytes(s, echoed, (int)sizeof payload), (int)sizeof payload);
    EQ(memcmp(echoed, payload, sizeof payload), 0);
    EQ(close_socket(s), 0);
    s = INVALID_SOCKET;
    REQUIRE(EQ(counting_layer_closed(before, &sent, &received), 1));
    EQ(sent, sizeof payload);
    EQ(received, sizeof payload);
    EQ(counting_layer_closed(before + 1, &sent, &received), 0);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

static void layered_counts_reported_at_close_are_exact(void)
{
    counts_reported_at_close_are_exact(sin4(127, 0, 0, 2, 7));
}

#ifndef _WIN32
/* ===================================================================== */
/* A provider over the host's sockets (--system), with real peers         */
/* ===================================================================== */
#include "peers.h"

#include <time.h>

static struct sockaddr_in6 sin6_loopback(int port)
{
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof s);
    s.sin6_family = AF_INET6;
    uint8_t pb[2] = {(uint8_t)(port >> 8), (uint8_t)(port & 0xff)};
    memcpy(&s.sin6_port, pb, 2);
    s.sin6_addr.s6_addr[15] = 1; /* ::1 */
    return s;
}

static void sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

/* Waits (up to 10 s of real time) for the I/O thread to complete `ov`. */
static int wait_done(WSAOVERLAPPED *ov)
{
    for (int i = 0; i < 10000; i++) {
        host_lock();
        int pending = ov->Internal == WSS_OPERATION_IN_PROGRESS;
        host_unlock();
        if (!pending)
            return 1;
        sleep_ms(1);
    }
    return 0;
}

/* Real bytes both ways with an echo server on 127.0.0.1. */
static void sys_real_bytes_both_ways_over_127_0_0_1(void)
{
    SOCKET s = INVALID_SOCKET;
    char got[16] = {0};
    int port = peer_echo(0);
    REQUIRE(NE(port, 0));
    REQUIRE(start());
    s = new_socket(0, 0);
    REQUIRE(NE(s, INVALID_SOCKET));
    REQUIRE(EQ(connect_to(s, sin4(127, 0, 0, 1, port)), 0));
    EQ(send_bytes(s, "hello v4", 8), 8);
    EQ(recv_bytes(s, got, 8), 8);
    EQ(memcmp(got, "hello v4", 8), 0);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* The counting layer over the host's sockets: real bytes, counted exactly. */
static void sys_layered_counts_reported_at_close_are_exact(void)
{
    int port = peer_echo(0);
    REQUIRE(NE(port, 0));
    counts_reported_at_close_are_exact(sin4(127, 0, 0, 1, port));
done:;
}

/* Real bytes both ways over ::1, with a sockaddr_in6 (spec §15). A host
 * without an IPv6 loopback skips it. */
static void sys_real_bytes_both_ways_over_ipv6_loopback(void)
{
    SOCKET s = INVALID_SOCKET;
    char got[16] = {0};
    int port = peer_echo(1);
    if (port == 0) {
        printf("skip: no ::1 on this host\n");
        return;
    }
    REQUIRE(start());
    err = 0;
    s = T.lpWSPSocket(AF_INET6, SOCK_STREAM, IPPROTO_TCP, &g_tcp_info, 0, 0, &err);
    REQUIRE(NE(s, INVALID_SOCKET));
    struct sockaddr_in6 to = sin6_loopback(port);
    err = 0;
    REQUIRE(EQ(T.lpWSPConnect(s, (struct sockaddr *)&to, sizeof to, NULL, NULL, NULL, NULL, &err), 0));
    EQ(send_bytes(s, "hello v6", 8), 8);
    EQ(recv_bytes(s, got, 8), 8);
    EQ(memcmp(got, "hello v6", 8), 0);
    struct sockaddr_in6 local;
    int len = sizeof local;
    err = 0;
    EQ(T.lpWSPGetSockName(s, (struct sockaddr *)&local, &len, &err), 0);
    EQ(len, 28);
    EQ(local.sin6_family, AF_INET6);
    EQ(local.sin6_addr.s6_addr[15], 1);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* The provider listens; a real client connects, sends and closes. */
static void sys_accept_takes_a_real_client(void)
{
    SOCKET l = INVALID_SOCKET, a = INVALID_SOCKET;
    struct sockaddr_in at, peer;
    int peer_len = sizeof peer;
    char got[16] = {0};
    REQUIRE(start());
    l = new_socket(0, 0);
    REQUIRE(NE(l, INVALID_SOCKET));
    REQUIRE(EQ(bind_to(l, sin4(127, 0, 0, 1, 0)), 0));
    REQUIRE(EQ(sock_name(l, &at), 0));
    err = 0;
    REQUIRE(EQ(T.lpWSPListen(l, 4, &err), 0));
    REQUIRE(TRUE_(peer_send_to(port_of(&at), "from C", 6)));
    err = 0;
    a = T.lpWSPAccept(l, (struct sockaddr *)&peer, &peer_len, NULL, 0, &err);
    REQUIRE(NE(a, INVALID_SOCKET));
    EQ(ip_of(&peer), 0x7f000001);
    EQ(recv_bytes(a, got, 6), 6);
    EQ(memcmp(got, "from C", 6), 0);
    EQ(recv_bytes(a, got, 1), 0); /* the client closed: end of stream */
done:
    CLOSE_IF_OPEN(a);
    CLOSE_IF_OPEN(l);
    EQ(cleanup(), 0);
}

/* A connect where nothing listens: WSAECONNREFUSED from the real stack. */
static void sys_connect_where_nobody_listens_is_refused(void)
{
    SOCKET s = INVALID_SOCKET;
    int port = peer_closed_port();
    REQUIRE(NE(port, 0));
    REQUIRE(start());
    s = new_socket(0, 0);
    REQUIRE(NE(s, INVALID_SOCKET));
    EQ(connect_to(s, sin4(127, 0, 0, 1, port)), SOCKET_ERROR);
    EQ(err, WSAECONNREFUSED);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* S9, S10: an overlapped receive pends, and the I/O thread completes it
 * once, with the echoed bytes in the buffers. */
static void sys_s9_s10_overlapped_recv_completes_once_from_the_io_thread(void)
{
    SOCKET s = INVALID_SOCKET;
    char buf[16];
    WSABUF b = {sizeof buf, buf};
    WSAOVERLAPPED ov;
    DWORD received = 0;
    int port = peer_echo(0);
    REQUIRE(NE(port, 0));
    REQUIRE(start());
    s = new_socket(0, WSA_FLAG_OVERLAPPED);
    REQUIRE(NE(s, INVALID_SOCKET));
    REQUIRE(EQ(connect_to(s, sin4(127, 0, 0, 1, port)), 0));
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(20);
    EQ(recv_overlapped(s, &b, 1, &received, &ov, NULL), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    EQ(send_bytes(s, "overlapped", 10), 10);
    REQUIRE(TRUE_(wait_done(&ov)));
    sleep_ms(20); /* a second completion, if any, would come now */
    host_lock();
    EQ(R.completions, 1);
    EQ(ov.InternalHigh, 10);
    host_unlock();
    EQ(memcmp(buf, "overlapped", 10), 0);
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* S6e, S6g: a closed socket's data reaches a slow real reader after the
 * final cleanup returned: the operating system sends what it holds. */
static void sys_s6e_s6g_closed_socket_data_outlives_final_cleanup(void)
{
    static char data[65536];
    SOCKET s = INVALID_SOCKET;
    int reset = -1;
    int port = peer_sink(200);
    REQUIRE(NE(port, 0));
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i % 251);
    REQUIRE(start());
    s = new_socket(0, 0);
    REQUIRE(NE(s, INVALID_SOCKET));
    REQUIRE(EQ(connect_to(s, sin4(127, 0, 0, 1, port)), 0));
    EQ(send_bytes(s, data, sizeof data), (int)sizeof data);
    EQ(close_socket(s), 0);
    s = INVALID_SOCKET;
    EQ(cleanup(), 0);
    EQ(peer_sink_wait(&reset), (long long)sizeof data);
    EQ(reset, 0);
    return;
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}

/* S6d: the final cleanup resets a socket left open; the real peer sees
 * the reset. */
static void sys_s6d_final_cleanup_resets_an_open_socket(void)
{
    SOCKET s = INVALID_SOCKET;
    int reset = -1;
    int port = peer_sink(200);
    REQUIRE(NE(port, 0));
    REQUIRE(start());
    s = new_socket(0, 0);
    REQUIRE(NE(s, INVALID_SOCKET));
    REQUIRE(EQ(connect_to(s, sin4(127, 0, 0, 1, port)), 0));
    EQ(cleanup(), 0);
    EQ(peer_sink_wait(&reset), 0);
    EQ(reset, 1);
    return;
done:
    CLOSE_IF_OPEN(s);
    EQ(cleanup(), 0);
}
#endif

static int g_system;       /* --system: a provider over the host's sockets */
static lib_t g_lib;        /* the provider, as loaded */
static const char *g_path; /* where it was loaded from */

static int load(const char *path)
{
    lib_t lib = lib_open(path);
    g_lib = lib;
    g_path = path;
    if (lib == NULL) {
        printf("cannot load %s: %s\n", path, lib_error());
        return 0;
    }
#define LOAD(var, name)                                        \
    do {                                                       \
        void *p_ = lib_sym(lib, name);                         \
        if (p_ == NULL) {                                      \
            printf("%s has no export %s\n", path, name);       \
            return 0;                                          \
        }                                                      \
        memcpy(&var, &p_, sizeof p_);                          \
    } while (0)
    LOAD(p_WSPStartup, "WSPStartup");
    LOAD(p_WSPSetCompletionUpcall, "WSPSetCompletionUpcall");
    LOAD(p_WSPLastError, "WSPLastError");
    if (!g_system) {
        /* The loopback example's hooks; the system provider has none. */
        LOAD(loopback_run, "loopback_run");
        LOAD(loopback_service_bytes, "loopback_service_bytes");
        LOAD(loopback_service_resets, "loopback_service_resets");
        LOAD(loopback_service_graceful, "loopback_service_graceful");
        LOAD(loopback_set_read_rate, "loopback_set_read_rate");
        LOAD(loopback_startup_count, "loopback_startup_count");
        LOAD(loopback_socket_count, "loopback_socket_count");
    }
    for (int k = 0; k < g_layers; k++) {
        const char *layer = g_layer_paths[k];
        lib = lib_open(layer);
        if (lib == NULL) {
            printf("cannot load %s: %s\n", layer, lib_error());
            return 0;
        }
        path = layer;
        LOAD(g_layer_flush[k], "WSPLayerFlush");
        if (k == g_layers - 1) {
            /* The provider under test is the top layer. */
            g_lib = lib;
            g_path = layer;
            LOAD(p_WSPStartup, "WSPStartup");
            LOAD(p_WSPSetCompletionUpcall, "WSPSetCompletionUpcall");
            LOAD(p_WSPLastError, "WSPLastError");
            void *closed = lib_sym(lib, "counting_layer_closed");
            memcpy(&counting_layer_closed, &closed, sizeof closed);
            g_description = strstr(layer, "counting_layer")
                                ? "winsock-provider counting layer example"
                                : "winsock-provider pass-through layer example";
        }
    }
#undef LOAD
    return 1;
}

/* An ASCII path as the NUL-terminated UTF-16 string the catalog holds. */
static void widen(const char *path, WCHAR *out, size_t room)
{
    size_t i = 0;
    for (; path[i] != '\0' && i + 1 < room; i++)
        out[i] = (WCHAR)(unsigned char)path[i];
    out[i] = 0;
}

/* A stack's catalog, written into every layer (each DLL keeps its own):
 * the base entries, each layer's hidden entry (its GUID from
 * WSPLayerProviderId) and each layer's chains, documentation convention
 * (every element a hidden entry's id, the base last). The protocol entries
 * the checks start and make sockets with become the top layer's chains. */
static int setup_stack(const char *base_path)
{
    WSAPROTOCOL_INFOW entries[2 + 3 * MAX_LAYERS];
    const char *paths[2 + 3 * MAX_LAYERS];
    int n = 0;
    entries[n] = g_tcp_info;
    paths[n++] = base_path;
    entries[n] = g_udp_info;
    paths[n++] = base_path;
    WSAPROTOCOL_INFOW chain[2] = {g_tcp_info, g_udp_info};
    for (int k = 0; k < g_layers; k++) {
        lib_t lib = lib_open(g_layer_paths[k]);
        void *sym = lib ? lib_sym(lib, "WSPLayerProviderId") : NULL;
        layer_provider_id_fn provider_id;
        memcpy(&provider_id, &sym, sizeof sym);
        WSAPROTOCOL_INFOW hidden = g_tcp_info;
        if (provider_id == NULL || provider_id(&hidden.ProviderId) != 0) {
            printf("%s: no WSPLayerProviderId\n", g_layer_paths[k]);
            return 0;
        }
        hidden.dwCatalogEntryId = CATALOG_HIDDEN(k);
        hidden.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
        hidden.dwProviderFlags |= PFL_HIDDEN;
        hidden.iSocketType = 0;
        hidden.iProtocol = 0;
        entries[n] = hidden;
        paths[n++] = g_layer_paths[k];
        for (int udp = 0; udp < 2; udp++) {
            WSAPROTOCOLCHAIN *c = &chain[udp].ProtocolChain;
            /* This layer goes on top: shift the chain down one slot. */
            int len = c->ChainLen == BASE_PROTOCOL ? 1 : c->ChainLen;
            if (c->ChainLen == BASE_PROTOCOL)
                c->ChainEntries[0] = chain[udp].dwCatalogEntryId;
            memmove(&c->ChainEntries[1], &c->ChainEntries[0], (size_t)len * sizeof(DWORD));
            c->ChainEntries[0] = CATALOG_HIDDEN(k);
            c->ChainLen = len + 1;
            chain[udp].dwCatalogEntryId = CATALOG_CHAIN(k, udp);
            chain[udp].ProviderId.Data4[7] = (unsigned char)(0x40 + 2 * k + udp);
            entries[n] = chain[udp];
            paths[n++] = g_layer_paths[k];
        }
    }
    for (int k = 0; k < g_layers; k++) {
        lib_t lib = lib_open(g_layer_paths[k]);
        void *sym = lib ? lib_sym(lib, "WSPAddCatalogEntry") : NULL;
        add_catalog_entry_fn add;
        memcpy(&add, &sym, sizeof sym);
        if (add == NULL) {
            printf("%s: no WSPAddCatalogEntry\n", g_layer_paths[k]);
            return 0;
        }
        for (int i = 0; i < n; i++) {
            WCHAR wide[1024];
            widen(paths[i], wide, sizeof wide / sizeof wide[0]);
            if (add(&entries[i], wide) != 0) {
                printf("%s: WSPAddCatalogEntry failed\n", g_layer_paths[k]);
                return 0;
            }
        }
    }
    g_tcp_info = chain[0];
    g_udp_info = chain[1];
    return 1;
}

#ifdef _WIN32
/* S11: FreeLibrary with a startup still in force and a receive pending runs
 * DllMain's process detach with lpvReserved NULL: it returns at once under
 * the loader lock, without waiting and without telling anyone (no upcall).
 * The DLL then loads and starts again. Windows only: DllMain is a Windows
 * notion. Runs last, as it unloads the DLL the other checks use. */
static void s11_unload_without_cleanup_returns_at_once_and_reload_works(void)
{
    char buf[16];
    WSABUF b = {sizeof buf, buf};
    WSAOVERLAPPED ov;
    DWORD received = 0;
    REQUIRE(start());
    SOCKET s = connect_service(7, WSA_FLAG_OVERLAPPED);
    REQUIRE(s != INVALID_SOCKET);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = EVENT(40);
    EQ(recv_overlapped(s, &b, 1, &received, &ov, on_complete), SOCKET_ERROR);
    REQUIRE(EQ(err, WSA_IO_PENDING));
    memset(&R, 0, sizeof R);
    g_cleanup = NULL; /* its code is about to go away */
    REQUIRE(TRUE_(FreeLibrary(g_lib)));
    int upcalls = 0;
    for (int i = 0; i < UP_COUNT; i++)
        upcalls += R.n[i];
    EQ(upcalls, 0);
    EQ(R.completions, 0);
    EQ(drain_apcs(), 0);
    REQUIRE(TRUE_(load(g_path)));
    REQUIRE(EQ(p_WSPSetCompletionUpcall(host_complete), 0));
    REQUIRE(start());
    /* A fresh instance: one cleanup is the final one. */
    SOCKET again = connect_service(7, WSA_FLAG_OVERLAPPED);
    NE(again, INVALID_SOCKET);
    EQ(cleanup(), 0);
    EQ(cleanup(), SOCKET_ERROR);
    EQ(err, WSANOTINITIALISED);
done:;
}
#endif

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    host_lock_init();
    /* `--unload` runs the one check that unloads the DLL, in a process of
     * its own: once a completion routine was queued, the DLL pins itself in
     * memory (its trampoline must outlive any FreeLibrary), so the unload
     * check must come before any routine. */
    int unload_only = 0, usage = argc < 2;
    for (int i = 2; i < argc && !usage; i++) {
        if (strcmp(argv[i], "--unload") == 0)
            unload_only = 1;
        else if (strcmp(argv[i], "--system") == 0)
            g_system = 1;
        else if (strcmp(argv[i], "--layer") == 0 && i + 1 < argc && g_layers < MAX_LAYERS)
            g_layer_paths[g_layers++] = argv[++i];
        else
            usage = 1;
    }
    if (usage || (unload_only && (g_system || g_layers > 0))) {
        printf("usage: %s <provider DLL> [--unload | [--system] [--layer <layer DLL>]...]\n",
               argv[0]);
        return 2;
    }
    if (!load(argv[1]))
        return 2;
    init_protocol_info(&g_tcp_info, 0);
    init_protocol_info(&g_udp_info, 1);
    if (g_layers > 0 && !setup_stack(argv[1]))
        return 2;
    g_thread.ThreadHandle = (HANDLE)(uintptr_t)0x7777;
    g_thread.Reserved = 42;
    if (p_WSPSetCompletionUpcall(host_complete) != 0) {
        printf("WSPSetCompletionUpcall failed\n");
        return 2;
    }

    if (unload_only) {
#ifdef _WIN32
        RUN(s11_unload_without_cleanup_returns_at_once_and_reload_works);
#else
        printf("--unload: DllMain is a Windows notion\n");
#endif
        printf("%d checks, %d failed\n", g_checks, g_failed);
        return g_failed == 0 ? 0 : 1;
    }
    if (g_system) {
#ifndef _WIN32
        if (g_layers > 0)
            printf("a stack of %d layer(s) over the system provider\n", g_layers);
        RUN(sys_real_bytes_both_ways_over_127_0_0_1);
        RUN(sys_real_bytes_both_ways_over_ipv6_loopback);
        RUN(sys_accept_takes_a_real_client);
        RUN(sys_connect_where_nobody_listens_is_refused);
        RUN(sys_s9_s10_overlapped_recv_completes_once_from_the_io_thread);
        RUN(sys_s6e_s6g_closed_socket_data_outlives_final_cleanup);
        RUN(sys_s6d_final_cleanup_resets_an_open_socket);
        if (counting_layer_closed != NULL)
            RUN(sys_layered_counts_reported_at_close_are_exact);
#else
        printf("--system: a provider over the host's sockets is a Unix example\n");
#endif
        printf("%d checks, %d failed\n", g_checks, g_failed);
        return g_failed == 0 ? 0 : 1;
    }
    RUN(s1_nested_startup_needs_matching_cleanups);
    RUN(s2_version_negotiation_and_description);
    RUN(s2_null_startup_pointers_are_wsaefault);
    RUN(s3_second_startup_upcall_table_is_used);
    RUN(s4_every_entry_is_gated_after_last_cleanup);
    RUN(stream_basics_over_loopback);
    RUN(udp_sendto_recvfrom_reports_source);
    RUN(s16_a_datagram_bigger_than_the_buffer_is_wsaemsgsize);
    RUN(socket_options_linger_buffers_type_error);
    RUN(ioctl_fionbio_and_fionread);
    RUN(s9_s10_overlapped_recv_event_completes_once);
    RUN(s9_s10_overlapped_recv_routine_runs_once);
    RUN(s9_immediate_overlapped_completion_is_still_notified);
    RUN(s7_close_aborts_pending_recv_with_one_event_completion);
    RUN(s7_close_aborts_pending_recv_with_one_routine_call);
    RUN(s6c_final_cleanup_aborts_pending_without_notification);
    RUN(s6d_final_cleanup_resets_open_sockets);
    RUN(s6e_s6g_closed_socket_data_outlives_final_cleanup);
    RUN(s6h_restart_at_once_and_old_handles_are_stale);
    RUN(s13_bad_pointers_are_wsaefault_and_change_nothing);
    RUN(s13_unknown_or_closed_handle_is_wsaenotsock);
    RUN(event_select_signals_and_enum_resets);
    RUN(async_select_posts_fd_read);
    RUN(unsupported_entries_are_wsaeopnotsupp);
    RUN(spec13_select_over_the_providers_sockets);
    RUN(spec14_address_strings_in_the_forms_windows_uses);
    RUN(spec14_disconnects_without_data_shut_a_direction);
    RUN(spec14_ioctls_handles_atmark_keepalive_and_overlapped);
    RUN(spec14_wsasendmsg_and_wsarecvmsg_from_the_extension_pointer);
    RUN(spec14_transmitfile_and_transmitpackets_from_the_extension_pointer);
    RUN(spec14_duplicate_socket_gives_a_second_handle_to_the_socket);
    RUN(spec14_connectex_from_the_extension_pointer);
    RUN(spec14_acceptex_from_the_extension_pointer);
    RUN(spec14_disconnectex_from_the_extension_pointer);
    RUN(s6d_s6f_threads_race_the_final_cleanup);
    if (g_layers > 0) {
        RUN(layered_s1_startups_and_cleanups_are_mirrored_one_for_one);
        RUN(layered_s6c_final_cleanup_leaves_nothing_below);
        if (counting_layer_closed != NULL)
            RUN(layered_counts_reported_at_close_are_exact);
    }

    printf("%d checks, %d failed\n", g_checks, g_failed);
    return g_failed == 0 ? 0 : 1;
}
