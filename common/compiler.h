/* Attributes every module uses; see ../shared/STYLE.md. */
#ifndef SB_COMPILER_H
#define SB_COMPILER_H

/* The result must be checked: every fallible function carries this. */
#define SB_WUR __attribute__((warn_unused_result))
/* printf-like: argument `fmt` is the format, `args` the first variadic. */
#define SB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define SB_NORETURN          __attribute__((noreturn))
#define SB_UNUSED            __attribute__((unused))

#define SB_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
