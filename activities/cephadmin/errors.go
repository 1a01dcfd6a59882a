package cephadmin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them where the
// cause is known, so callers can branch with errors.Is without parsing text.
var (
	// ErrNoSuchUser: the RGW user does not exist.
	ErrNoSuchUser = errors.New("no such rgw user")
	// ErrNoSuchBucket: the bucket does not exist.
	ErrNoSuchBucket = errors.New("no such bucket")
	// ErrNoSuchObject: the object does not exist in its bucket.
	ErrNoSuchObject = errors.New("no such object")
	// ErrNoSuchPool: the Ceph pool does not exist.
	ErrNoSuchPool = errors.New("no such pool")
	// ErrUserExists: a user with that uid already exists.
	ErrUserExists = errors.New("rgw user already exists")
	// ErrConflict: another user already holds the key or e-mail address.
	ErrConflict = errors.New("conflicting rgw resource")
	// ErrAccessDenied: the credential is valid but lacks the admin caps for the call.
	ErrAccessDenied = errors.New("access denied")
	// ErrAuthentication: the credential is unknown or the signature is wrong
	// (InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed).
	ErrAuthentication = errors.New("authentication failed")
	// ErrInvalidArgument: RGW refused a parameter (bad quota, cap, placement...).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnavailable: RGW or the cluster did not answer or failed on its side
	// (5xx, connection refused, timeout). Retrying later may succeed.
	ErrUnavailable = errors.New("ceph unavailable")
	// ErrNoRealm: the cluster's RGW configuration has no realm, so a period
	// cannot be committed; RGW must be restarted to see zone changes.
	ErrNoRealm = errors.New("rgw has no realm")
	// ErrPlacementNotApplied: RGW accepted a user modification but did not
	// change the user's placement (releases whose Admin Ops "modify user"
	// ignores default-placement and placement-tags; Pacific 16.2.15 applies
	// them). Cluster.SetUserPlacement does it through the metadata API instead.
	ErrPlacementNotApplied = errors.New("rgw did not apply the user's placement")
	// ErrBucketMisplaced: a platform bucket exists with another owner or on
	// another placement than the layout says. RGW has no operation that moves
	// a bucket to another placement; an operator must copy its data to a
	// bucket made in the right place.
	ErrBucketMisplaced = errors.New("platform bucket is not where the layout puts it")
	// ErrPoolDeleteDisabled: the monitors refuse pool deletion
	// (mon_allow_pool_delete is false).
	ErrPoolDeleteDisabled = errors.New("pool deletion is disabled on this cluster")
)

// rgwCodes maps the error codes of RGW's Admin Ops API (the "Code" field of its
// JSON error body) to the sentinels above.
var rgwCodes = map[string]error{
	"NoSuchUser":                ErrNoSuchUser,
	"NoSuchBucket":              ErrNoSuchBucket,
	"UserAlreadyExists":         ErrUserExists,
	"KeyExists":                 ErrConflict,
	"EmailExists":               ErrConflict,
	"AccessDenied":              ErrAccessDenied,
	"InvalidAccessKeyId":        ErrAuthentication,
	"SignatureDoesNotMatch":     ErrAuthentication,
	"RequestTimeTooSkewed":      ErrAuthentication,
	"InvalidArgument":           ErrInvalidArgument,
	"InvalidCap":                ErrInvalidArgument,
	"InvalidQuotaParams":        ErrInvalidArgument,
	"InvalidBucketName":         ErrInvalidArgument,
	"InvalidLocationConstraint": ErrInvalidArgument,
	"BucketAlreadyExists":       ErrConflict,
}

// APIError is an error answer of the RGW Admin Ops API or of RGW's S3 API.
type APIError struct {
	// API is "s3" for S3 calls; empty means the Admin Ops API.
	API        string
	Op         string // what the client tried, e.g. "create user suwon"
	StatusCode int    // HTTP status
	Code       string // RGW error code, e.g. "NoSuchUser"; empty when the body had none
	RequestID  string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.StatusCode)
	}
	api := e.API
	if api == "" {
		api = "admin"
	}
	msg := fmt.Sprintf("rgw %s: %s: %s (HTTP %d", api, e.Op, code, e.StatusCode)
	if e.RequestID != "" {
		msg += ", request " + e.RequestID
	}
	return msg + ")"
}

// Is maps the RGW code (or, without one, the HTTP status) to this package's
// sentinels, so errors.Is(err, ErrNoSuchUser) works on API errors.
func (e *APIError) Is(target error) bool {
	return e.kind() == target
}

func (e *APIError) kind() error {
	if k, ok := rgwCodes[e.Code]; ok {
		return k
	}
	switch {
	case e.StatusCode >= 500:
		return ErrUnavailable
	case e.StatusCode == http.StatusForbidden:
		return ErrAccessDenied
	case e.StatusCode == http.StatusNotFound:
		return nil // not enough to say which resource is missing
	case e.StatusCode == http.StatusBadRequest:
		return ErrInvalidArgument
	}
	return nil
}

// CommandError is a failed ceph or radosgw-admin command.
type CommandError struct {
	Command  string // program and arguments (no secrets: none are passed on command lines)
	ExitCode int    // -1 when the program did not run or was killed
	Stderr   string // last part of stderr
	Err      error  // the underlying exec error, if any
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s: exit %d", e.Command, e.ExitCode)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// commandFailed reports whether err is a command that ran and failed with a
// stderr containing all of the given fragments.
func commandFailed(err error, fragments ...string) bool {
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode <= 0 {
		return false
	}
	for _, f := range fragments {
		if !strings.Contains(ce.Stderr, f) {
			return false
		}
	}
	return true
}
