// Package textclf is dure's built-in text classifier. It routes a Korean
// citizen complaint (title + body) to the department that should handle it.
//
// The model is deliberately simple so that it trains in about a second on a
// few thousand complaints and predicts one in a fraction of a millisecond,
// without a GPU:
//
//   - Features are hashed character 1–3-grams taken inside each eojeol
//     (space-separated word, padded with a boundary mark) plus eojeol
//     unigrams (bigrams optional). Korean attaches particles and endings to
//     stems, so character n-grams recover the stems that whole-word features
//     miss, while eojeol features keep exact compounds.
//     The title is a short, dense summary of the complaint, so its features
//     also go into a separate namespace with their own weight.
//   - Term frequencies are sublinear (1+ln tf), scaled by smoothed IDF and
//     L2-normalised, so long bodies do not drown the title.
//   - The classifier is one-vs-rest L2-regularised linear SVM (squared hinge)
//     trained by dual coordinate descent, the algorithm of LIBLINEAR. It is
//     deterministic for a given seed, converges in a few passes, and the
//     classes train independently so they parallelise without changing the
//     result. Class weights ("balanced") keep small departments from being
//     swallowed by large ones.
//   - The confidence score is a softmax over the class margins with a fixed
//     temperature, chosen so that on held-out pilot data the mean confidence
//     is close to the accuracy. It is probability-like, in [0,1], and
//     consistent with the ranking, but not calibrated per class.
//
// A Model is immutable after Train or Load and safe for concurrent use. On
// the pilot data a model is ~11 MB on disk and ~15 MB in memory (weights
// plus a 4 MiB bucket index).
package textclf
