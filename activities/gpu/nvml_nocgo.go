//go:build !cgo

package gpu

import (
	"errors"
	"fmt"
	"log/slog"
)

// OpenSystem returns ErrNoNVML: go-nvml needs cgo, and this binary was built
// without it (CGO_ENABLED=0). The rest of the package, the fallback
// inventories included, works without cgo.
func OpenSystem(*slog.Logger) (*Session, error) {
	return nil, fmt.Errorf("%w (%w)", ErrNoNVML, errors.New("built without cgo"))
}
