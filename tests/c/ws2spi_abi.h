/*
 * ws2spi_abi.h: the Windows Sockets 2 SPI (ws2spi.h) ABI for C hosts.
 *
 * On Windows (_WIN32) this is MinGW's own <winsock2.h> and <ws2spi.h>.
 * Elsewhere it declares the same types with their exact Windows layouts,
 * written with fixed-width types only: Windows' `long` is 32-bit and
 * Linux's is 64-bit, so `long` never appears below. Only what a host of a
 * transport provider needs is declared (no WSADATA, no name-space SPI).
 *
 * Sizes and offsets are those of spec section 8 (winsock-spi-facts.md) and
 * are checked at compile time at the end of this file, on both platforms.
 *
 * Do not include POSIX socket headers (<sys/socket.h>, <netinet/in.h>,
 * <sys/select.h>, <sys/time.h>) next to this one on Linux: `struct
 * sockaddr`, `struct linger`, `fd_set` and `struct timeval` here are the
 * Windows ones.
 */
#ifndef WS2SPI_ABI_H
#define WS2SPI_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h> /* before ws2spi.h, which needs its types */
#include <ws2spi.h>
#include <ws2ipdef.h> /* sockaddr_in6 */
#include <mswsock.h>  /* TRANSMIT_FILE_BUFFERS, TRANSMIT_PACKETS_ELEMENT */

#else /* !_WIN32: the Windows layouts with fixed-width types */

/* ---- calling conventions (x86_64 and Linux: the C ABI) ---------------- */
#define WSAAPI
#define WSPAPI
#define WINAPI
#define CALLBACK

/* ---- base types -------------------------------------------------------- */
typedef uint8_t BYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef DWORD *LPDWORD;
typedef int INT;
typedef int *LPINT;
typedef int BOOL;
typedef unsigned int UINT;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef uint16_t u_short;
typedef unsigned int u_int;
typedef uint32_t u_long;
typedef char CHAR;
typedef uint16_t WCHAR;
typedef WCHAR *LPWSTR;
typedef void VOID;
typedef void *PVOID;
typedef void *LPVOID;
typedef void *HANDLE;
typedef HANDLE WSAEVENT;
typedef HANDLE HWND;
typedef uintptr_t UINT_PTR;
typedef intptr_t LONG_PTR;
typedef uintptr_t ULONG_PTR;
typedef uintptr_t DWORD_PTR;
typedef DWORD_PTR *PDWORD_PTR;
typedef UINT_PTR WPARAM;
typedef LONG_PTR LPARAM;
typedef unsigned int GROUP;
typedef UINT_PTR SOCKET; /* MS SDK, Wine, mingw-w64 >= v5 */

#ifndef FALSE
#define FALSE 0
#endif
#ifndef TRUE
#define TRUE 1
#endif

#define MAKEWORD(low, high) ((WORD)(((BYTE)(low)) | ((WORD)((BYTE)(high))) << 8))
#define MAKELONG(low, high) \
    ((LONG)(((WORD)(low)) | ((DWORD)((WORD)(high))) << 16))
#define LOWORD(l) ((WORD)((DWORD_PTR)(l) & 0xffff))
#define HIWORD(l) ((WORD)(((DWORD_PTR)(l) >> 16) & 0xffff))
#define LOBYTE(w) ((BYTE)((DWORD_PTR)(w) & 0xff))
#define HIBYTE(w) ((BYTE)(((DWORD_PTR)(w) >> 8) & 0xff))

/* ---- structures -------------------------------------------------------- */
typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID, *LPGUID;

struct sockaddr {
    u_short sa_family;
    char sa_data[14];
};
typedef struct sockaddr SOCKADDR, *PSOCKADDR, *LPSOCKADDR;

struct in_addr {
    uint32_t s_addr; /* network byte order (MinGW: the S_un union's S_addr) */
};

struct sockaddr_in {
    int16_t sin_family; /* Windows: short (ADDRESS_FAMILY in newer SDKs) */
    u_short sin_port;   /* network byte order */
    struct in_addr sin_addr;
    char sin_zero[8];
};
typedef struct sockaddr_in SOCKADDR_IN;

struct in6_addr {
    uint8_t s6_addr[16];
};

struct sockaddr_in6 {
    int16_t sin6_family; /* AF_INET6: 23 on Windows */
    u_short sin6_port;   /* network byte order */
    uint32_t sin6_flowinfo;
    struct in6_addr sin6_addr;
    uint32_t sin6_scope_id;
};
typedef struct sockaddr_in6 SOCKADDR_IN6;

struct linger {
    u_short l_onoff;
    u_short l_linger; /* seconds */
};
typedef struct linger LINGER;

#define FD_SETSIZE 64
typedef struct fd_set {
    u_int fd_count;
    SOCKET fd_array[FD_SETSIZE];
} fd_set;

struct timeval {
    int32_t tv_sec; /* Windows `long` */
    int32_t tv_usec;
};
typedef struct timeval TIMEVAL, *PTIMEVAL;

typedef struct _WSABUF {
    u_long len;
    char *buf;
} WSABUF, *LPWSABUF;

/* What TransmitFile and TransmitPackets send (mswsock.h). */
typedef struct _TRANSMIT_FILE_BUFFERS {
    void *Head;
    DWORD HeadLength;
    void *Tail;
    DWORD TailLength;
} TRANSMIT_FILE_BUFFERS, *LPTRANSMIT_FILE_BUFFERS;
#define TF_DISCONNECT 0x01
#define TF_REUSE_SOCKET 0x02
#define TP_ELEMENT_MEMORY 1
#define TP_ELEMENT_FILE 2
#define TP_ELEMENT_EOP 4
typedef struct _TRANSMIT_PACKETS_ELEMENT {
    ULONG dwElFlags;
    ULONG cLength;
    union {
        struct {
            _Alignas(8) int64_t nFileOffset; /* LARGE_INTEGER: 8-aligned on x86 too */
            HANDLE hFile;
        };
        void *pBuffer;
    };
} TRANSMIT_PACKETS_ELEMENT, *LPTRANSMIT_PACKETS_ELEMENT;

/* The header of WSARecvMsg and WSASendMsg (ws2def.h). */
typedef struct _WSAMSG {
    struct sockaddr *name;
    INT namelen;
    LPWSABUF lpBuffers;
    DWORD dwBufferCount;
    WSABUF Control;
    DWORD dwFlags;
} WSAMSG, *LPWSAMSG;

typedef struct _OVERLAPPED {
    ULONG_PTR Internal;
    ULONG_PTR InternalHigh;
    union {
        struct {
            DWORD Offset;
            DWORD OffsetHigh;
        };
        PVOID Pointer;
    };
    HANDLE hEvent;
} OVERLAPPED, WSAOVERLAPPED, *LPWSAOVERLAPPED;

/* Only ever passed by pointer by a transport host: opaque is enough. */
typedef struct _QualityOfService QOS, *LPQOS;

#define FD_MAX_EVENTS 10
typedef struct _WSANETWORKEVENTS {
    int32_t lNetworkEvents; /* Windows `long` */
    int iErrorCode[FD_MAX_EVENTS];
} WSANETWORKEVENTS, *LPWSANETWORKEVENTS;

#define MAX_PROTOCOL_CHAIN 7
#define BASE_PROTOCOL 1
#define LAYERED_PROTOCOL 0
typedef struct _WSAPROTOCOLCHAIN {
    int ChainLen;
    DWORD ChainEntries[MAX_PROTOCOL_CHAIN];
} WSAPROTOCOLCHAIN, *LPWSAPROTOCOLCHAIN;

#define WSAPROTOCOL_LEN 255
typedef struct _WSAPROTOCOL_INFOW {
    DWORD dwServiceFlags1;
    DWORD dwServiceFlags2;
    DWORD dwServiceFlags3;
    DWORD dwServiceFlags4;
    DWORD dwProviderFlags;
    GUID ProviderId;
    DWORD dwCatalogEntryId;
    WSAPROTOCOLCHAIN ProtocolChain;
    int iVersion;
    int iAddressFamily;
    int iMaxSockAddr;
    int iMinSockAddr;
    int iSocketType;
    int iProtocol;
    int iProtocolMaxOffset;
    int iNetworkByteOrder;
    int iSecurityScheme;
    DWORD dwMessageSize;
    DWORD dwProviderReserved;
    WCHAR szProtocol[WSAPROTOCOL_LEN + 1];
} WSAPROTOCOL_INFOW, *LPWSAPROTOCOL_INFOW;

#define WSPDESCRIPTION_LEN 255
typedef struct WSPData {
    WORD wVersion;
    WORD wHighVersion;
    WCHAR szDescription[WSPDESCRIPTION_LEN + 1];
} WSPDATA, *LPWSPDATA;

typedef struct _WSATHREADID {
    HANDLE ThreadHandle;
    DWORD_PTR Reserved;
} WSATHREADID, *LPWSATHREADID;

/* ---- callbacks --------------------------------------------------------- */
typedef int(CALLBACK *LPCONDITIONPROC)(LPWSABUF lpCallerId, LPWSABUF lpCallerData,
                                       LPQOS lpSQOS, LPQOS lpGQOS, LPWSABUF lpCalleeId,
                                       LPWSABUF lpCalleeData, GROUP *g,
                                       DWORD_PTR dwCallbackData);
typedef void(CALLBACK *LPWSAOVERLAPPED_COMPLETION_ROUTINE)(DWORD dwError, DWORD cbTransferred,
                                                           LPWSAOVERLAPPED lpOverlapped,
                                                           DWORD dwFlags);
typedef BOOL(CALLBACK *LPBLOCKINGCALLBACK)(DWORD_PTR dwContext);
typedef void(CALLBACK *LPWSAUSERAPC)(DWORD_PTR dwContext);

/* ---- WSPPROC_TABLE: the provider's 30 entry points (spec section 8) --- */
typedef SOCKET(WSPAPI *LPWSPACCEPT)(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                                    LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
                                    LPINT lpErrno);
typedef INT(WSPAPI *LPWSPADDRESSTOSTRING)(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                                          LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                          LPWSTR lpszAddressString,
                                          LPDWORD lpdwAddressStringLength, LPINT lpErrno);
typedef int(WSPAPI *LPWSPASYNCSELECT)(SOCKET s, HWND hWnd, unsigned int wMsg, int32_t lEvent,
                                      LPINT lpErrno);
typedef int(WSPAPI *LPWSPBIND)(SOCKET s, const struct sockaddr *name, int namelen,
                               LPINT lpErrno);
typedef int(WSPAPI *LPWSPCANCELBLOCKINGCALL)(LPINT lpErrno);
typedef int(WSPAPI *LPWSPCLEANUP)(LPINT lpErrno);
typedef int(WSPAPI *LPWSPCLOSESOCKET)(SOCKET s, LPINT lpErrno);
typedef int(WSPAPI *LPWSPCONNECT)(SOCKET s, const struct sockaddr *name, int namelen,
                                  LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                  LPQOS lpGQOS, LPINT lpErrno);
typedef int(WSPAPI *LPWSPDUPLICATESOCKET)(SOCKET s, DWORD dwProcessId,
                                          LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno);
typedef int(WSPAPI *LPWSPENUMNETWORKEVENTS)(SOCKET s, WSAEVENT hEventObject,
                                            LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno);
typedef int(WSPAPI *LPWSPEVENTSELECT)(SOCKET s, WSAEVENT hEventObject, int32_t lNetworkEvents,
                                      LPINT lpErrno);
typedef BOOL(WSPAPI *LPWSPGETOVERLAPPEDRESULT)(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                               LPDWORD lpcbTransfer, BOOL fWait,
                                               LPDWORD lpdwFlags, LPINT lpErrno);
typedef int(WSPAPI *LPWSPGETPEERNAME)(SOCKET s, struct sockaddr *name, LPINT namelen,
                                      LPINT lpErrno);
typedef int(WSPAPI *LPWSPGETSOCKNAME)(SOCKET s, struct sockaddr *name, LPINT namelen,
                                      LPINT lpErrno);
typedef int(WSPAPI *LPWSPGETSOCKOPT)(SOCKET s, int level, int optname, char *optval,
                                     LPINT optlen, LPINT lpErrno);
typedef BOOL(WSPAPI *LPWSPGETQOSBYNAME)(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS,
                                        LPINT lpErrno);
typedef int(WSPAPI *LPWSPIOCTL)(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer,
                                DWORD cbInBuffer, LPVOID lpvOutBuffer, DWORD cbOutBuffer,
                                LPDWORD lpcbBytesReturned, LPWSAOVERLAPPED lpOverlapped,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWSPJOINLEAF)(SOCKET s, const struct sockaddr *name, int namelen,
                                      LPWSABUF lpCallerData, LPWSABUF lpCalleeData,
                                      LPQOS lpSQOS, LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno);
typedef int(WSPAPI *LPWSPLISTEN)(SOCKET s, int backlog, LPINT lpErrno);
typedef int(WSPAPI *LPWSPRECV)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                               LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                               LPWSAOVERLAPPED lpOverlapped,
                               LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                               LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPRECVDISCONNECT)(SOCKET s, LPWSABUF lpInboundDisconnectData,
                                         LPINT lpErrno);
typedef int(WSPAPI *LPWSPRECVFROM)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                   LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                                   struct sockaddr *lpFrom, LPINT lpFromlen,
                                   LPWSAOVERLAPPED lpOverlapped,
                                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                   LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSELECT)(int nfds, fd_set *readfds, fd_set *writefds,
                                 fd_set *exceptfds, const PTIMEVAL timeout, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSEND)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                               LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                               LPWSAOVERLAPPED lpOverlapped,
                               LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                               LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSENDDISCONNECT)(SOCKET s, LPWSABUF lpOutboundDisconnectData,
                                         LPINT lpErrno);
typedef int(WSPAPI *LPWSPSENDTO)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                 LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                                 const struct sockaddr *lpTo, int iTolen,
                                 LPWSAOVERLAPPED lpOverlapped,
                                 LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                 LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSETSOCKOPT)(SOCKET s, int level, int optname, const char *optval,
                                     int optlen, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSHUTDOWN)(SOCKET s, int how, LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWSPSOCKET)(int af, int type, int protocol,
                                    LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g, DWORD dwFlags,
                                    LPINT lpErrno);
typedef INT(WSPAPI *LPWSPSTRINGTOADDRESS)(LPWSTR AddressString, INT AddressFamily,
                                          LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                          LPSOCKADDR lpAddress, LPINT lpAddressLength,
                                          LPINT lpErrno);

typedef struct _WSPPROC_TABLE {
    LPWSPACCEPT lpWSPAccept;                           /*  0 */
    LPWSPADDRESSTOSTRING lpWSPAddressToString;         /*  1 */
    LPWSPASYNCSELECT lpWSPAsyncSelect;                 /*  2 */
    LPWSPBIND lpWSPBind;                               /*  3 */
    LPWSPCANCELBLOCKINGCALL lpWSPCancelBlockingCall;   /*  4 */
    LPWSPCLEANUP lpWSPCleanup;                         /*  5 */
    LPWSPCLOSESOCKET lpWSPCloseSocket;                 /*  6 */
    LPWSPCONNECT lpWSPConnect;                         /*  7 */
    LPWSPDUPLICATESOCKET lpWSPDuplicateSocket;         /*  8 */
    LPWSPENUMNETWORKEVENTS lpWSPEnumNetworkEvents;     /*  9 */
    LPWSPEVENTSELECT lpWSPEventSelect;                 /* 10 */
    LPWSPGETOVERLAPPEDRESULT lpWSPGetOverlappedResult; /* 11 */
    LPWSPGETPEERNAME lpWSPGetPeerName;                 /* 12 */
    LPWSPGETSOCKNAME lpWSPGetSockName;                 /* 13 */
    LPWSPGETSOCKOPT lpWSPGetSockOpt;                   /* 14 */
    LPWSPGETQOSBYNAME lpWSPGetQOSByName;               /* 15 */
    LPWSPIOCTL lpWSPIoctl;                             /* 16 */
    LPWSPJOINLEAF lpWSPJoinLeaf;                       /* 17 */
    LPWSPLISTEN lpWSPListen;                           /* 18 */
    LPWSPRECV lpWSPRecv;                               /* 19 */
    LPWSPRECVDISCONNECT lpWSPRecvDisconnect;           /* 20 */
    LPWSPRECVFROM lpWSPRecvFrom;                       /* 21 */
    LPWSPSELECT lpWSPSelect;                           /* 22 */
    LPWSPSEND lpWSPSend;                               /* 23 */
    LPWSPSENDDISCONNECT lpWSPSendDisconnect;           /* 24 */
    LPWSPSENDTO lpWSPSendTo;                           /* 25 */
    LPWSPSETSOCKOPT lpWSPSetSockOpt;                   /* 26 */
    LPWSPSHUTDOWN lpWSPShutdown;                       /* 27 */
    LPWSPSOCKET lpWSPSocket;                           /* 28 */
    LPWSPSTRINGTOADDRESS lpWSPStringToAddress;         /* 29 */
} WSPPROC_TABLE, *LPWSPPROC_TABLE;

/* ---- WSPUPCALLTABLE: ws2_32's 15 upcalls (spec section 8) ------------- */
typedef BOOL(WSPAPI *LPWPUCLOSEEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int(WSPAPI *LPWPUCLOSESOCKETHANDLE)(SOCKET s, LPINT lpErrno);
typedef WSAEVENT(WSPAPI *LPWPUCREATEEVENT)(LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWPUCREATESOCKETHANDLE)(DWORD dwCatalogEntryId, DWORD_PTR dwContext,
                                                LPINT lpErrno);
typedef int(WSPAPI *LPWPUFDISSET)(SOCKET s, fd_set *fdset);
typedef int(WSPAPI *LPWPUGETPROVIDERPATH)(LPGUID lpProviderId, WCHAR *lpszProviderDllPath,
                                          LPINT lpProviderDllPathLen, LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWPUMODIFYIFSHANDLE)(DWORD dwCatalogEntryId, SOCKET ProposedHandle,
                                             LPINT lpErrno);
typedef BOOL(WSPAPI *LPWPUPOSTMESSAGE)(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
typedef int(WSPAPI *LPWPUQUERYBLOCKINGCALLBACK)(DWORD dwCatalogEntryId,
                                                LPBLOCKINGCALLBACK *lplpfnCallback,
                                                PDWORD_PTR lpdwContext, LPINT lpErrno);
typedef int(WSPAPI *LPWPUQUERYSOCKETHANDLECONTEXT)(SOCKET s, PDWORD_PTR lpContext,
                                                   LPINT lpErrno);
typedef int(WSPAPI *LPWPUQUEUEAPC)(LPWSATHREADID lpThreadId, LPWSAUSERAPC lpfnUserApc,
                                   DWORD_PTR dwContext, LPINT lpErrno);
typedef BOOL(WSPAPI *LPWPURESETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef BOOL(WSPAPI *LPWPUSETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int(WSPAPI *LPWPUOPENCURRENTTHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWPUCLOSETHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef struct _WSPUPCALLTABLE {
    LPWPUCLOSEEVENT lpWPUCloseEvent;                             /*  0 */
    LPWPUCLOSESOCKETHANDLE lpWPUCloseSocketHandle;               /*  1 */
    LPWPUCREATEEVENT lpWPUCreateEvent;                           /*  2 */
    LPWPUCREATESOCKETHANDLE lpWPUCreateSocketHandle;             /*  3 */
    LPWPUFDISSET lpWPUFDIsSet;                                   /*  4 */
    LPWPUGETPROVIDERPATH lpWPUGetProviderPath;                   /*  5 */
    LPWPUMODIFYIFSHANDLE lpWPUModifyIFSHandle;                   /*  6 */
    LPWPUPOSTMESSAGE lpWPUPostMessage;                           /*  7 */
    LPWPUQUERYBLOCKINGCALLBACK lpWPUQueryBlockingCallback;       /*  8 */
    LPWPUQUERYSOCKETHANDLECONTEXT lpWPUQuerySocketHandleContext; /*  9 */
    LPWPUQUEUEAPC lpWPUQueueApc;                                 /* 10 */
    LPWPURESETEVENT lpWPUResetEvent;                             /* 11 */
    LPWPUSETEVENT lpWPUSetEvent;                                 /* 12 */
    LPWPUOPENCURRENTTHREAD lpWPUOpenCurrentThread;               /* 13 */
    LPWPUCLOSETHREAD lpWPUCloseThread;                           /* 14 */
} WSPUPCALLTABLE, *LPWSPUPCALLTABLE;

typedef int(WSPAPI *LPWSPSTARTUP)(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                  LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                  WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable);

/* ---- constants ---------------------------------------------------------- */
#define INVALID_SOCKET ((SOCKET)(~0))
#define SOCKET_ERROR (-1)

/* Errors (WSABASEERR 10000; the first six alias Win32 ERROR_*). */
#define WSA_INVALID_HANDLE 6
#define WSA_NOT_ENOUGH_MEMORY 8
#define WSA_INVALID_PARAMETER 87
#define WSA_OPERATION_ABORTED 995
#define WSA_IO_INCOMPLETE 996
#define WSA_IO_PENDING 997
#define WSABASEERR 10000
#define WSAEINTR 10004
#define WSAEACCES 10013
#define WSAEFAULT 10014
#define WSAEINVAL 10022
#define WSAEMFILE 10024
#define WSAEWOULDBLOCK 10035
#define WSAEINPROGRESS 10036
#define WSAEALREADY 10037
#define WSAENOTSOCK 10038
#define WSAEDESTADDRREQ 10039
#define WSAEMSGSIZE 10040
#define WSAEPROTOTYPE 10041
#define WSAENOPROTOOPT 10042
#define WSAEPROTONOSUPPORT 10043
#define WSAESOCKTNOSUPPORT 10044
#define WSAEOPNOTSUPP 10045
#define WSAEPFNOSUPPORT 10046
#define WSAEAFNOSUPPORT 10047
#define WSAEADDRINUSE 10048
#define WSAEADDRNOTAVAIL 10049
#define WSAENETDOWN 10050
#define WSAENETUNREACH 10051
#define WSAENETRESET 10052
#define WSAECONNABORTED 10053
#define WSAECONNRESET 10054
#define WSAENOBUFS 10055
#define WSAEISCONN 10056
#define WSAENOTCONN 10057
#define WSAESHUTDOWN 10058
#define WSAETIMEDOUT 10060
#define WSAECONNREFUSED 10061
#define WSASYSNOTREADY 10091
#define WSAVERNOTSUPPORTED 10092
#define WSANOTINITIALISED 10093
#define WSAEDISCON 10101
#define WSAEPROVIDERFAILEDINIT 10106
#define WSASYSCALLFAILURE 10107

/* Socket options. */
#define SOL_SOCKET 0xffff
#define SO_DEBUG 0x0001
#define SO_ACCEPTCONN 0x0002
#define SO_REUSEADDR 0x0004
#define SO_KEEPALIVE 0x0008
#define SO_DONTROUTE 0x0010
#define SO_BROADCAST 0x0020
#define SO_LINGER 0x0080
#define SO_OOBINLINE 0x0100
#define SO_DONTLINGER ((int)(~SO_LINGER))
#define SO_SNDBUF 0x1001
#define SO_RCVBUF 0x1002
#define SO_SNDLOWAT 0x1003
#define SO_RCVLOWAT 0x1004
#define SO_SNDTIMEO 0x1005
#define SO_RCVTIMEO 0x1006
#define SO_ERROR 0x1007
#define SO_TYPE 0x1008
#define SO_MAX_MSG_SIZE 0x2003
#define SO_PROTOCOL_INFOW 0x2005

/* Ioctls: _IOW('f', 126, u_long) and _IOR('f', 127, u_long). */
#define FIONBIO 0x8004667Eu
#define FIONREAD 0x4004667Fu

/* Message flags. */
#define MSG_OOB 0x1
#define MSG_PEEK 0x2
#define MSG_DONTROUTE 0x4
#define MSG_WAITALL 0x8
#define MSG_INTERRUPT 0x10
#define MSG_PARTIAL 0x8000

/* Network events: bit index and mask. */
#define FD_READ_BIT 0
#define FD_READ (1 << FD_READ_BIT)
#define FD_WRITE_BIT 1
#define FD_WRITE (1 << FD_WRITE_BIT)
#define FD_OOB_BIT 2
#define FD_OOB (1 << FD_OOB_BIT)
#define FD_ACCEPT_BIT 3
#define FD_ACCEPT (1 << FD_ACCEPT_BIT)
#define FD_CONNECT_BIT 4
#define FD_CONNECT (1 << FD_CONNECT_BIT)
#define FD_CLOSE_BIT 5
#define FD_CLOSE (1 << FD_CLOSE_BIT)
#define FD_QOS_BIT 6
#define FD_QOS (1 << FD_QOS_BIT)
#define FD_GROUP_QOS_BIT 7
#define FD_GROUP_QOS (1 << FD_GROUP_QOS_BIT)
#define FD_ROUTING_INTERFACE_CHANGE_BIT 8
#define FD_ROUTING_INTERFACE_CHANGE (1 << FD_ROUTING_INTERFACE_CHANGE_BIT)
#define FD_ADDRESS_LIST_CHANGE_BIT 9
#define FD_ADDRESS_LIST_CHANGE (1 << FD_ADDRESS_LIST_CHANGE_BIT)
#define FD_ALL_EVENTS ((1 << FD_MAX_EVENTS) - 1)

#define WSAMAKESELECTREPLY(event, error) MAKELONG(event, error)
#define WSAGETSELECTEVENT(lParam) LOWORD(lParam)
#define WSAGETSELECTERROR(lParam) HIWORD(lParam)

/* Shutdown. */
#define SD_RECEIVE 0x00
#define SD_SEND 0x01
#define SD_BOTH 0x02

/* Addresses, types, protocols. */
#define AF_UNSPEC 0
#define AF_INET 2
#define AF_INET6 23
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define FROM_PROTOCOL_INFO (-1)

/* WSPSocket flags. */
#define WSA_FLAG_OVERLAPPED 0x01
#define WSA_FLAG_MULTIPOINT_C_ROOT 0x02
#define WSA_FLAG_MULTIPOINT_C_LEAF 0x04
#define WSA_FLAG_MULTIPOINT_D_ROOT 0x08
#define WSA_FLAG_MULTIPOINT_D_LEAF 0x10

/* XP1_* (dwServiceFlags1). */
#define XP1_CONNECTIONLESS 0x00000001
#define XP1_GUARANTEED_DELIVERY 0x00000002
#define XP1_GUARANTEED_ORDER 0x00000004
#define XP1_MESSAGE_ORIENTED 0x00000008
#define XP1_PSEUDO_STREAM 0x00000010
#define XP1_GRACEFUL_CLOSE 0x00000020
#define XP1_EXPEDITED_DATA 0x00000040
#define XP1_CONNECT_DATA 0x00000080
#define XP1_DISCONNECT_DATA 0x00000100
#define XP1_SUPPORT_BROADCAST 0x00000200
#define XP1_SUPPORT_MULTIPOINT 0x00000400
#define XP1_MULTIPOINT_CONTROL_PLANE 0x00000800
#define XP1_MULTIPOINT_DATA_PLANE 0x00001000
#define XP1_QOS_SUPPORTED 0x00002000
#define XP1_INTERRUPT 0x00004000
#define XP1_UNI_SEND 0x00008000
#define XP1_UNI_RECV 0x00010000
#define XP1_IFS_HANDLES 0x00020000
#define XP1_PARTIAL_MESSAGE 0x00040000

/* PFL_* (dwProviderFlags). */
#define PFL_MULTIPLE_PROTO_ENTRIES 0x00000001
#define PFL_RECOMMENDED_PROTO_ENTRY 0x00000002
#define PFL_HIDDEN 0x00000004
#define PFL_MATCHES_PROTOCOL_ZERO 0x00000008

#define BIGENDIAN 0x0000
#define LITTLEENDIAN 0x0001
#define SECURITY_PROTOCOL_NONE 0x0000

#endif /* _WIN32 */

/* ---- on both platforms --------------------------------------------------- */

/*
 * ws2_32's WPUCompleteOverlappedRequest, as a pointer type of our own:
 * Wine's ws2spi.h (and old MSDN) give it a WSAEVENT result, the SDK and
 * mingw-w64 an int; the provider's WSPSetCompletionUpcall takes this one.
 */
typedef int(WSAAPI *HOST_LPWPUCOMPLETEOVERLAPPEDREQUEST)(SOCKET s,
                                                         LPWSAOVERLAPPED lpOverlapped,
                                                         DWORD dwError, DWORD cbTransferred,
                                                         LPINT lpErrno);

#ifndef WSS_OPERATION_IN_PROGRESS
#define WSS_OPERATION_IN_PROGRESS 0x00000103
#endif
/* NTSTATUS STATUS_CANCELLED: Internal of an operation aborted by cleanup. */
#define HOST_STATUS_CANCELLED 0xC0000120u

/* The ioctls of spec 14 (winsock2.h, mswsock.h, mstcpip.h: not all of
 * which the hosts include). */
#ifndef SIOCATMARK
#define SIOCATMARK 0x40047307u
#endif
#ifndef SIO_BASE_HANDLE
#define SIO_BASE_HANDLE 0x48000022u
#endif
#ifndef SIO_BSP_HANDLE
#define SIO_BSP_HANDLE 0x4800001Bu
#endif
#ifndef SIO_BSP_HANDLE_SELECT
#define SIO_BSP_HANDLE_SELECT 0x4800001Cu
#endif
#ifndef SIO_BSP_HANDLE_POLL
#define SIO_BSP_HANDLE_POLL 0x4800001Du
#endif
#ifndef SIO_GET_EXTENSION_FUNCTION_POINTER
#define SIO_GET_EXTENSION_FUNCTION_POINTER 0xC8000006u
#endif
#ifndef SO_UPDATE_CONNECT_CONTEXT
#define SO_UPDATE_CONNECT_CONTEXT 0x7010
#endif
#ifndef SO_UPDATE_ACCEPT_CONTEXT
#define SO_UPDATE_ACCEPT_CONTEXT 0x700B
#endif
#ifndef SIO_KEEPALIVE_VALS
#define SIO_KEEPALIVE_VALS 0x98000004u
#endif
#ifndef MSG_TRUNC
#define MSG_TRUNC 0x0100
#endif

/* ---- layouts of spec section 8, checked on both platforms -------------- */
#define WS2SPI_P sizeof(void *)
_Static_assert(sizeof(WORD) == 2 && sizeof(DWORD) == 4 && sizeof(u_long) == 4,
               "Windows integer widths");
_Static_assert(sizeof(WCHAR) == 2, "WCHAR is UTF-16");
_Static_assert(sizeof(SOCKET) == WS2SPI_P, "SOCKET is UINT_PTR");
_Static_assert(sizeof(DWORD_PTR) == WS2SPI_P, "DWORD_PTR");
_Static_assert(sizeof(WSPDATA) == 516, "WSPDATA 516 bytes");
_Static_assert(offsetof(WSPDATA, wHighVersion) == 2, "WSPDATA.wHighVersion @2");
_Static_assert(offsetof(WSPDATA, szDescription) == 4, "WSPDATA.szDescription @4");
_Static_assert(sizeof(GUID) == 16, "GUID 16 bytes");
_Static_assert(sizeof(WSAPROTOCOLCHAIN) == 32, "WSAPROTOCOLCHAIN 32 bytes");
_Static_assert(sizeof(WSAMSG) == (WS2SPI_P == 8 ? 56 : 28), "WSAMSG 56 bytes (x86: 28)");
_Static_assert(sizeof(TRANSMIT_PACKETS_ELEMENT) == 24, "TRANSMIT_PACKETS_ELEMENT 24 bytes");
_Static_assert(offsetof(TRANSMIT_PACKETS_ELEMENT, pBuffer) == 8, "pBuffer @8");
_Static_assert(offsetof(WSAMSG, Control) == 4 * WS2SPI_P, "WSAMSG.Control @32 (x86: 16)");
_Static_assert(sizeof(WSAPROTOCOL_INFOW) == 628, "WSAPROTOCOL_INFOW 628 bytes");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, dwProviderFlags) == 16, "dwProviderFlags @16");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, ProviderId) == 20, "ProviderId @20");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, dwCatalogEntryId) == 36, "dwCatalogEntryId @36");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, ProtocolChain) == 40, "ProtocolChain @40");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iVersion) == 72, "iVersion @72");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iAddressFamily) == 76, "iAddressFamily @76");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iMaxSockAddr) == 80, "iMaxSockAddr @80");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iMinSockAddr) == 84, "iMinSockAddr @84");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iSocketType) == 88, "iSocketType @88");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iProtocol) == 92, "iProtocol @92");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iProtocolMaxOffset) == 96, "iProtocolMaxOffset @96");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iNetworkByteOrder) == 100, "iNetworkByteOrder @100");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, iSecurityScheme) == 104, "iSecurityScheme @104");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, dwMessageSize) == 108, "dwMessageSize @108");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, dwProviderReserved) == 112,
               "dwProviderReserved @112");
_Static_assert(offsetof(WSAPROTOCOL_INFOW, szProtocol) == 116, "szProtocol @116");
_Static_assert(sizeof(WSATHREADID) == 2 * WS2SPI_P, "WSATHREADID 2P");
_Static_assert(sizeof(WSABUF) == (WS2SPI_P == 8 ? 16 : 8), "WSABUF x64 16 / x86 8");
_Static_assert(offsetof(WSABUF, buf) == WS2SPI_P, "WSABUF.buf @P");
_Static_assert(sizeof(WSAOVERLAPPED) == 3 * WS2SPI_P + 8, "WSAOVERLAPPED x64 32 / x86 20");
_Static_assert(offsetof(WSAOVERLAPPED, Internal) == 0, "Internal @0");
_Static_assert(offsetof(WSAOVERLAPPED, InternalHigh) == WS2SPI_P, "InternalHigh @P");
_Static_assert(offsetof(WSAOVERLAPPED, Offset) == 2 * WS2SPI_P, "Offset @2P");
_Static_assert(offsetof(WSAOVERLAPPED, OffsetHigh) == 2 * WS2SPI_P + 4, "OffsetHigh @2P+4");
_Static_assert(offsetof(WSAOVERLAPPED, hEvent) == 2 * WS2SPI_P + 8, "hEvent @2P+8");
_Static_assert(sizeof(WSANETWORKEVENTS) == 44, "WSANETWORKEVENTS 44 bytes");
_Static_assert(sizeof(struct linger) == 4, "linger: two u_short");
_Static_assert(sizeof(struct sockaddr) == 16, "sockaddr 16 bytes");
_Static_assert(sizeof(struct sockaddr_in) == 16, "sockaddr_in 16 bytes");
_Static_assert(offsetof(struct sockaddr_in, sin_port) == 2, "sin_port @2");
_Static_assert(offsetof(struct sockaddr_in, sin_addr) == 4, "sin_addr @4");
_Static_assert(sizeof(struct sockaddr_in6) == 28, "sockaddr_in6 28 bytes (spec §15)");
_Static_assert(offsetof(struct sockaddr_in6, sin6_addr) == 8, "sin6_addr @8");
_Static_assert(offsetof(struct sockaddr_in6, sin6_scope_id) == 24, "sin6_scope_id @24");
_Static_assert(sizeof(WSPPROC_TABLE) == 30 * WS2SPI_P, "WSPPROC_TABLE: 30 pointers");
_Static_assert(offsetof(WSPPROC_TABLE, lpWSPCleanup) == 5 * WS2SPI_P, "lpWSPCleanup #5");
_Static_assert(offsetof(WSPPROC_TABLE, lpWSPGetSockOpt) == 14 * WS2SPI_P,
               "lpWSPGetSockOpt #14 (before GetQOSByName)");
_Static_assert(offsetof(WSPPROC_TABLE, lpWSPGetQOSByName) == 15 * WS2SPI_P,
               "lpWSPGetQOSByName #15");
_Static_assert(offsetof(WSPPROC_TABLE, lpWSPStringToAddress) == 29 * WS2SPI_P,
               "lpWSPStringToAddress #29");
_Static_assert(sizeof(WSPUPCALLTABLE) == 15 * WS2SPI_P, "WSPUPCALLTABLE: 15 pointers");
_Static_assert(offsetof(WSPUPCALLTABLE, lpWPUCreateSocketHandle) == 3 * WS2SPI_P,
               "lpWPUCreateSocketHandle #3");
_Static_assert(offsetof(WSPUPCALLTABLE, lpWPUQuerySocketHandleContext) == 9 * WS2SPI_P,
               "lpWPUQuerySocketHandleContext #9");
_Static_assert(offsetof(WSPUPCALLTABLE, lpWPUQueueApc) == 10 * WS2SPI_P, "lpWPUQueueApc #10");
_Static_assert(offsetof(WSPUPCALLTABLE, lpWPUCloseThread) == 14 * WS2SPI_P,
               "lpWPUCloseThread #14");

#endif /* WS2SPI_ABI_H */
