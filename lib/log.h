/* Structured logs: one JSON object per line on stderr, with a time, a
 * level and a message, plus string fields given as key/value pairs. Values
 * are JSON-escaped; secrets must never be passed in (redact first). */
#ifndef EXO_LOG_H
#define EXO_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* log_msg(LOG_INFO, "boot done", "ddl", "0", "ms", "12", NULL) */
void log_msg(log_level level, const char *msg, ...);

/* Messages below this level are dropped (default LOG_INFO). */
void log_set_level(log_level level);

#endif
