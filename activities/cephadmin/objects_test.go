package cephadmin

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRGWRADOSObjectNames(t *testing.T) {
	// Names measured on Pacific 16.2.15 ("rados ls" of the data pool).
	const m = "971b5dd1.4143.1"
	tests := []struct {
		key  rgwObjectKey
		want RADOSObject
	}{
		{rgwObjectKey{Name: "dir/_under.txt"}, RADOSObject{Name: m + "_dir/_under.txt"}},
		{rgwObjectKey{Name: "sp aceé"}, RADOSObject{Name: m + "_sp aceé"}},
		{rgwObjectKey{Name: "_lead"}, RADOSObject{Name: m + "___lead", Locator: m + "__lead"}},
		{rgwObjectKey{Name: "plain", Instance: "null"}, RADOSObject{Name: m + "_plain"}},
		{rgwObjectKey{Name: "vkey2", Instance: "x0sFxhg"}, RADOSObject{Name: m + "__:x0sFxhg_vkey2"}},
		{rgwObjectKey{Name: "_vkey2", Instance: "x0sFxhg"}, RADOSObject{Name: m + "__:x0sFxhg__vkey2", Locator: m + "__vkey2"}},
		{rgwObjectKey{Name: "model.bin.2~abc.1", NS: "multipart"}, RADOSObject{Name: m + "__multipart_model.bin.2~abc.1"}},
	}
	for _, tt := range tests {
		if got := rgwRADOSObject(m, tt.key); got != tt.want {
			t.Errorf("%+v -> %+v, want %+v", tt.key, got, tt.want)
		}
	}
}

func TestPoolsHoldingObject(t *testing.T) {
	const m = "zone.42.7"
	f := newFakeCeph()
	for _, p := range []string{"staging-pool", "staging.index", "tenant-suwon-pool", "default.rgw.buckets.data"} {
		addPool(f, p, 0, true)
	}
	f.radosObjects["staging-pool"] = map[string]bool{
		m + "_batch.jsonl": true, m + "___lead@" + m + "__lead": true,
		m + "_model.bin": true, m + "__multipart_model.bin.2~up.1": true,
		m + "_copied": true,
	}
	f.radosObjects["tenant-suwon-pool"] = map[string]bool{m + "_copied": true}
	f.rgwObjects["staging"] = map[string]fakeRGWObject{
		"batch.jsonl": {m, rgwObjectKey{Name: "batch.jsonl"}},
		"_lead":       {m, rgwObjectKey{Name: "_lead"}},
		"model.bin":   {m, rgwObjectKey{Name: "model.bin.2~up.1", NS: "multipart"}},
		"copied":      {m, rgwObjectKey{Name: "copied"}},
		"lost":        {m, rgwObjectKey{Name: "lost"}},
	}
	c := newTestCluster(t, f, nil)
	for key, want := range map[string][]string{
		"batch.jsonl": {"staging-pool"},
		"_lead":       {"staging-pool"}, // found only with its locator
		"model.bin":   {"staging-pool"}, // head and first part
		"copied":      {"staging-pool", "tenant-suwon-pool"},
	} {
		got, err := c.PoolsHoldingObject(t.Context(), "staging", key)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: pools %v err %v, want %v", key, got, err, want)
		}
	}
	if _, err := c.PoolsHoldingObject(t.Context(), "staging", "lost"); err == nil || !strings.Contains(err.Error(), "no pool holds") {
		t.Errorf("an object no pool holds: err %v", err)
	}
	if _, err := c.PoolsHoldingObject(t.Context(), "staging", "missing"); !errors.Is(err, ErrNoSuchObject) {
		t.Errorf("missing object: %v, want ErrNoSuchObject", err)
	}
	if _, err := c.PoolsHoldingObject(t.Context(), "nobucket", "k"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("missing bucket: %v, want ErrNoSuchBucket", err)
	}
	f.failOn["rados -p tenant-suwon-pool"] = cmdErr("rados -p tenant-suwon-pool", 1, "error stat-ing: (1) Operation not permitted")
	if _, err := c.PoolsHoldingObject(t.Context(), "staging", "batch.jsonl"); err == nil || !strings.Contains(err.Error(), "tenant-suwon-pool") {
		t.Errorf("a pool that cannot be read must fail the answer, got %v", err)
	}
}
