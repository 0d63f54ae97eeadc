package ipc

// Logger is what the transport logs to; *logging.Logger satisfies it. If
// the logger also has an Error method (as *logging.Logger does), handler
// panics are logged with it; otherwise at WARNING.
type Logger interface {
	Warning(msg string, kv ...any)
	Info(msg string, kv ...any)
	Debug(msg string, kv ...any)
}

type errorLogger interface {
	Error(msg string, kv ...any)
}

// logError logs at ERROR when the logger can, else at WARNING.
func logError(l Logger, msg string, kv ...any) {
	if el, ok := l.(errorLogger); ok {
		el.Error(msg, kv...)
		return
	}
	l.Warning(msg, kv...)
}

// nopLogger discards everything: the default when a config gives no Log.
type nopLogger struct{}

func (nopLogger) Warning(string, ...any) {}
func (nopLogger) Info(string, ...any)    {}
func (nopLogger) Debug(string, ...any)   {}
