package cephadmin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// RGWBuckets creates buckets through RGW's S3 API, signed as the user who is to
// own them: S3 is the only way to create a bucket on RGW, and the creator
// becomes the owner. It is safe for concurrent use.
type RGWBuckets struct {
	base   *url.URL
	region string
	client *http.Client
	log    *slog.Logger
}

// NewRGWBuckets returns an RGWBuckets for the RGW at endpoint (e.g.
// http://127.0.0.1:7480). httpClient may be nil (30 s timeout); logger may be nil.
func NewRGWBuckets(endpoint string, httpClient *http.Client, logger *slog.Logger) (*RGWBuckets, error) {
	base, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("rgw s3: endpoint %q: want http(s)://host[:port]", endpoint)
	}
	b := &RGWBuckets{base: base, region: defaultRegion, client: httpClient, log: logger}
	if b.client == nil {
		b.client = newHTTPClient(defaultHTTPTimeout)
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return b, nil
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// MakeBucket creates bucket as owner. A non-empty locationConstraint goes into
// the CreateBucketConfiguration; on RGW "<zonegroup api name>:<placement id>"
// (Cluster.LocationConstraint) puts the bucket on that placement target, which
// RGW refuses (AccessDenied) to a user without the target's tag. A bucket the
// owner already has is not an error; its placement is not checked here.
//
// The request is signed for us-east-1, as the Admin Ops calls are, and the
// constraint travels only in the body. (minio-go's MakeBucket also signs
// with the constraint as the region; Pacific accepts that too.)
func (b *RGWBuckets) MakeBucket(ctx context.Context, owner Credential, bucket, locationConstraint string) error {
	op := "create bucket " + bucket
	if owner.AccessKey == "" || owner.SecretKey == "" {
		return fmt.Errorf("rgw s3: %s: owner credential is empty: %w", op, ErrInvalidArgument)
	}
	if bucket == "" || strings.ContainsAny(bucket, "/?# \t\n") {
		return fmt.Errorf("rgw s3: bucket name %q: %w", bucket, ErrInvalidArgument)
	}
	var body []byte
	if locationConstraint != "" {
		var err error
		if body, err = xml.Marshal(createBucketConfiguration{LocationConstraint: locationConstraint}); err != nil {
			return fmt.Errorf("rgw s3: %s: encode: %w", op, err)
		}
	}
	u := *b.base
	u.Path = strings.TrimRight(b.base.Path, "/") + "/" + bucket
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("rgw s3: %s: %w", op, err)
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/xml")
	}
	req = signer.SignV4(*req, owner.AccessKey, owner.SecretKey, "", b.region)

	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("rgw s3: %s: %w: %w", op, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	b.log.DebugContext(ctx, "rgw s3 call", "op", op, "status", resp.StatusCode, "duration", time.Since(start))
	if err != nil {
		return fmt.Errorf("rgw s3: %s: read answer: %w: %w", op, ErrUnavailable, err)
	}
	if resp.StatusCode/100 == 2 {
		return nil
	}
	apiErr := s3Error(op, resp, answer)
	if apiErr.Code == "BucketAlreadyOwnedByYou" {
		return nil
	}
	return apiErr
}

// s3Error reads S3's XML error document into an APIError.
func s3Error(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{API: "s3", Op: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amz-Request-Id")}
	var doc struct {
		Code      string `xml:"Code"`
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(body, &doc); err == nil || errors.Is(err, io.EOF) {
		e.Code = doc.Code
		if doc.RequestID != "" {
			e.RequestID = doc.RequestID
		}
	}
	return e
}
