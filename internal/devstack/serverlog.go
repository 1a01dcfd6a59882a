package devstack

import (
	"context"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts the Temporal server's logger interface to slog, with a level
// that can be raised at run time (to quiet the expected errors of a shutdown).
type serverLogger struct {
	logger *slog.Logger
	level  *slog.LevelVar
}

var _ log.Logger = (*serverLogger)(nil)

func newServerLogger(logger *slog.Logger, level *slog.LevelVar) *serverLogger {
	return &serverLogger{logger: logger, level: level}
}

func (l *serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	if level < l.level.Level() {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	l.logger.LogAttrs(context.Background(), level, msg, attrs...)
}

func (l *serverLogger) Debug(msg string, tags ...tag.Tag)  { l.log(slog.LevelDebug, msg, tags) }
func (l *serverLogger) Info(msg string, tags ...tag.Tag)   { l.log(slog.LevelInfo, msg, tags) }
func (l *serverLogger) Warn(msg string, tags ...tag.Tag)   { l.log(slog.LevelWarn, msg, tags) }
func (l *serverLogger) Error(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }
func (l *serverLogger) DPanic(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }
func (l *serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.log(slog.LevelError, msg, tags)
	panic(msg)
}
func (l *serverLogger) Fatal(msg string, tags ...tag.Tag) {
	l.log(slog.LevelError+4, msg, tags)
	panic(msg)
}
