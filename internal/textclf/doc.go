// Package textclf is dure's built-in text classifier. It routes a Korean
// citizen complaint (title + body) to the department that should handle it.
//
// The model is deliberately simple so that it trains in seconds on a few
// thousand complaints and predicts in microseconds without a GPU:
//
//   - Features are hashed character n-grams taken inside each eojeol
//     (space-separated word) plus eojeol unigrams and bigrams. Korean attaches
//     particles and endings to stems, so character n-grams recover the stems
//     that whole-word features miss, while eojeol n-grams keep phrases.
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
//     temperature: it is a ranking-consistent, probability-like number in
//     [0,1], not a calibrated probability.
//
// A Model is immutable after Train or Load and safe for concurrent use.
package textclf
