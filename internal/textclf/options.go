package textclf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Class weighting schemes for Options.ClassWeight.
const (
	// ClassWeightBalanced weights each example by n/(k·n_class), as
	// scikit-learn's class_weight="balanced": every department contributes
	// the same total loss however many complaints it has.
	ClassWeightBalanced = "balanced"
	// ClassWeightNone weights every example equally.
	ClassWeightNone = "none"
)

// ErrBadOptions is wrapped by Train's error for options it cannot use.
var ErrBadOptions = errors.New("textclf: invalid options")

// Bounds on Options.HashBits: below 2^12 buckets nearly every feature
// collides; above 2^26 the index alone takes 256 MiB.
const (
	minHashBits = 12
	maxHashBits = 26
)

// Options are the training hyperparameters. Start from DefaultOptions and
// change what you need. A zero numeric field takes its default (except Seed:
// 0 is a valid seed); for the feature switches (CharMaxN, WordNGrams,
// TitleWeight) a negative value turns the feature off.
type Options struct {
	// Seed fixes the example order of coordinate descent; the same seed,
	// data and options give byte-identical models.
	Seed int64 `json:"seed"`
	// Epochs is the maximum number of coordinate-descent passes over the
	// data. Training stops earlier once every class has converged.
	Epochs int `json:"epochs"`
	// C is the inverse regularisation strength of the SVM.
	C float64 `json:"c"`
	// Tolerance stops a class once the spread (max − min) of its projected
	// gradients over a full pass falls below it (LIBLINEAR's stopping rule).
	Tolerance float64 `json:"tolerance"`
	// ClassWeight is ClassWeightBalanced (default) or ClassWeightNone.
	ClassWeight string `json:"class_weight"`

	// CharMinN and CharMaxN bound the character n-gram lengths taken
	// within each eojeol.
	CharMinN int `json:"char_min_n"`
	CharMaxN int `json:"char_max_n"`
	// WordNGrams is 1 for eojeol unigrams, 2 to add bigrams. Bigrams did
	// not help on the pilot data (almost all occur once) and cost time.
	WordNGrams int `json:"word_ngrams"`
	// TitleWeight scales the title-only feature block relative to the
	// title+body block (both unit length before scaling). The title also
	// counts in the shared block, so this is extra weight on top.
	TitleWeight float64 `json:"title_weight"`
	// MinDF drops features seen in fewer training complaints: hapaxes
	// cannot generalise and would only bloat the model.
	MinDF int `json:"min_df"`
	// MaxRunes caps the text read from each title and body, bounding the
	// cost of a pathological 100 KB complaint. The routing signal is
	// almost always in the first few paragraphs.
	MaxRunes int `json:"max_runes"`
	// HashBits sets the hashed feature space to 2^HashBits buckets.
	// Larger spaces collide less but the in-memory index grows as
	// 4 bytes × 2^HashBits.
	HashBits int `json:"hash_bits"`

	// Temperature sharpens the softmax that turns margins into scores.
	// The default minimises held-out log-loss on the pilot data, where the
	// mean confidence then roughly equals the accuracy.
	Temperature float64 `json:"temperature"`
	// Workers bounds training parallelism; it does not affect the result.
	Workers int `json:"workers"`
}

// DefaultOptions returns hyperparameters tuned on the pilot tenants' data.
func DefaultOptions() Options {
	return Options{
		Seed:        1,
		Epochs:      30,
		C:           0.5,
		Tolerance:   0.05,
		ClassWeight: ClassWeightBalanced,
		CharMinN:    1,
		CharMaxN:    3,
		WordNGrams:  1,
		TitleWeight: 0.15,
		MinDF:       3,
		MaxRunes:    6000,
		HashBits:    20,
		Temperature: 6,
		Workers:     runtime.GOMAXPROCS(0),
	}
}

// resolve fills zero fields from DefaultOptions, applies the "negative means
// off" convention and validates the result.
func (o Options) resolve() (Options, error) {
	d := DefaultOptions()
	fillInt(&o.Epochs, d.Epochs)
	fillFloat(&o.C, d.C)
	fillFloat(&o.Tolerance, d.Tolerance)
	fillInt(&o.CharMinN, d.CharMinN)
	fillInt(&o.CharMaxN, d.CharMaxN)
	fillInt(&o.WordNGrams, d.WordNGrams)
	fillFloat(&o.TitleWeight, d.TitleWeight)
	fillInt(&o.MinDF, d.MinDF)
	fillInt(&o.MaxRunes, d.MaxRunes)
	fillInt(&o.HashBits, d.HashBits)
	fillFloat(&o.Temperature, d.Temperature)
	fillInt(&o.Workers, d.Workers)
	if o.ClassWeight == "" {
		o.ClassWeight = d.ClassWeight
	}
	o.CharMaxN = max(o.CharMaxN, 0)
	o.WordNGrams = max(o.WordNGrams, 0)
	o.TitleWeight = max(o.TitleWeight, 0)
	return o, o.validate()
}

func (o Options) validate() error {
	var errs []error
	if o.Epochs < 0 {
		errs = append(errs, fmt.Errorf("epochs must be positive, got %d", o.Epochs))
	}
	if o.C < 0 || o.Tolerance < 0 || o.Temperature < 0 || o.MinDF < 0 || o.MaxRunes < 0 || o.Workers < 0 {
		errs = append(errs, errors.New("c, tolerance, temperature, min_df, max_runes and workers must not be negative"))
	}
	if o.CharMinN < 1 || (o.CharMaxN > 0 && o.CharMaxN < o.CharMinN) {
		errs = append(errs, fmt.Errorf("char n-gram range [%d,%d] is invalid", o.CharMinN, o.CharMaxN))
	}
	if o.CharMaxN > 8 || o.WordNGrams > 2 {
		errs = append(errs, fmt.Errorf("char_max_n must be ≤ 8 and word_ngrams ≤ 2, got %d and %d", o.CharMaxN, o.WordNGrams))
	}
	if o.HashBits < minHashBits || o.HashBits > maxHashBits {
		errs = append(errs, fmt.Errorf("hash_bits must be in [%d,%d], got %d", minHashBits, maxHashBits, o.HashBits))
	}
	if o.CharMaxN == 0 && o.WordNGrams == 0 {
		errs = append(errs, errors.New("both character and word features are off"))
	}
	if o.ClassWeight != ClassWeightBalanced && o.ClassWeight != ClassWeightNone {
		errs = append(errs, fmt.Errorf("class_weight must be %q or %q, got %q", ClassWeightBalanced, ClassWeightNone, o.ClassWeight))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	return nil
}

func (o Options) features() featureConfig {
	return featureConfig{
		CharMinN:    o.CharMinN,
		CharMaxN:    o.CharMaxN,
		WordNGrams:  o.WordNGrams,
		TitleWeight: o.TitleWeight,
		MaxRunes:    o.MaxRunes,
		HashBits:    o.HashBits,
	}
}

func fillInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func fillFloat(p *float64, def float64) {
	if *p == 0 {
		*p = def
	}
}

// LoadOptions reads options from a JSON file over DefaultOptions: the file
// names only what it changes. An unknown field is an error, so a misspelt
// option never silently leaves the default in place.
func LoadOptions(path string) (Options, error) {
	opts := DefaultOptions()
	f, err := os.Open(path)
	if err != nil {
		return opts, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&opts); err != nil {
		return opts, fmt.Errorf("options %s: %w", path, err)
	}
	if _, err := opts.resolve(); err != nil {
		return opts, fmt.Errorf("options %s: %w", path, err)
	}
	return opts, nil
}
