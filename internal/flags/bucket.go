package flags

import "github.com/twmb/murmur3"

// BucketCount is the number of buckets a split divides users into: one per basis point, 0.01 %.
const BucketCount = 10_000

// Bucket returns the bucket, from 0 to BucketCount-1, that value (a targeting key, or the attribute a flag
// buckets by) falls in for the flag named flagKey. It is flagd's fractional bucketing with a total weight
// of 10000:
//
//	h      = murmur3_x86_32(flagKey + value, seed 0)   // the bytes of both strings, concatenated
//	bucket = (uint64(h) * 10000) >> 32
//
// A split walks its variants in the order they are written, each taking the next weight-many buckets, so
// {on: 10%, off: 90%} gives buckets 0 to 999 to "on". The same key and value always land in the same
// bucket, in every process and every version of ferry.
func Bucket(flagKey, value string) int {
	return int(uint64(hash(flagKey, value)) * BucketCount >> 32)
}

// hash is the 32-bit murmur3 of flagKey followed by value, without allocating for the usual lengths.
func hash(flagKey, value string) uint32 {
	var buf [128]byte
	if len(flagKey)+len(value) > len(buf) {
		return murmur3.StringSum32(flagKey + value)
	}
	b := append(buf[:0], flagKey...)
	return murmur3.Sum32(append(b, value...))
}

// split is a rollout: variants (indexes into a flag's variants) and the cumulative end of each one's
// buckets. The last end is BucketCount.
type split struct {
	variants []int
	ends     []int
	// weights are the percentages as written, in basis points, for MarshalJSON.
	weights []int
}

// pick returns the variant whose buckets hold bucket.
func (s *split) pick(bucket int) int {
	for i, end := range s.ends {
		if bucket < end {
			return s.variants[i]
		}
	}
	return s.variants[len(s.variants)-1] // unreachable: the ends reach BucketCount
}
