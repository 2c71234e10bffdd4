package tokenizer

import (
	"sort"
	"sync"
)

// Codepoint category flags, with the values llama.cpp's unicode tables use.
// Each assigned codepoint carries exactly one category bit; whitespace is a
// separate helper bit.
const (
	cpUndefined   = 0x0001
	cpNumber      = 0x0002 // \p{N}
	cpLetter      = 0x0004 // \p{L}
	cpSeparator   = 0x0008 // \p{Z}
	cpAccentMark  = 0x0010 // \p{M}
	cpPunctuation = 0x0020 // \p{P}
	cpSymbol      = 0x0040 // \p{S}
	cpControl     = 0x0080 // \p{C}
	cpCategories  = 0x00FF
	cpWhitespace  = 0x0100 // \s as llama.cpp defines it
)

// outOfRange stands for "no codepoint" when a matcher looks past the end of
// the fragment it works on.
const outOfRange = 0xFFFFFFFF

// replacementChar is what invalid UTF-8 decodes to (U+FFFD), one per bad byte.
const replacementChar = 0xFFFD

var (
	asciiFlags [128]uint16
	wsSet      map[uint32]bool
	flagsOnce  sync.Once
)

func initFlags() {
	wsSet = make(map[uint32]bool, len(ucdWhitespace))
	for _, c := range ucdWhitespace {
		wsSet[c] = true
	}
	for c := uint32(0); c < 128; c++ {
		asciiFlags[c] = lookupFlags(c)
	}
}

// lookupFlags finds the flags of cpt in the range table.
func lookupFlags(cpt uint32) uint16 {
	if cpt >= 0x110000 {
		return cpUndefined
	}
	// Largest i with start(i) <= cpt.
	i := sort.Search(len(ucdFlagRanges), func(i int) bool { return ucdFlagRanges[i]>>8 > cpt }) - 1
	if i < 0 {
		return cpUndefined
	}
	f := uint16(ucdFlagRanges[i] & 0xFF)
	if wsSet[cpt] {
		f |= cpWhitespace
	}
	return f
}

// cptFlags returns llama.cpp's flags for a codepoint (0 for out of range).
func cptFlags(cpt uint32) uint16 {
	flagsOnce.Do(initFlags)
	if cpt < 128 {
		return asciiFlags[cpt]
	}
	if cpt == outOfRange {
		return 0
	}
	return lookupFlags(cpt)
}

func isLetter(f uint16) bool { return f&cpLetter != 0 }
func isNumber(f uint16) bool { return f&cpNumber != 0 }
func isSpace(f uint16) bool  { return f&cpWhitespace != 0 }

// utf8Len is the sequence length announced by a UTF-8 lead byte, as
// llama.cpp computes it (continuation bytes count as 1).
func utf8Len(b byte) int {
	switch {
	case b < 0xC0:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	default:
		return 4
	}
}

// decodeCpts splits UTF-8 into codepoints the way llama.cpp does: each byte
// that does not start a well-formed (by lead and continuation bits) sequence
// becomes U+FFFD and decoding resumes at the next byte. Overlong forms and
// surrogates are accepted as they are; values past U+10FFFF become U+FFFD.
func decodeCpts(s string) []uint32 {
	out := make([]uint32, 0, len(s))
	for i := 0; i < len(s); {
		c, n := decodeOne(s, i)
		out = append(out, c)
		i += n
	}
	return out
}

func decodeOne(s string, i int) (uint32, int) {
	b := s[i]
	cont := func(k int) bool { return i+k < len(s) && s[i+k]&0xC0 == 0x80 }
	switch {
	case b&0x80 == 0:
		return uint32(b), 1
	case b&0x40 == 0:
		return replacementChar, 1
	case b&0x20 == 0:
		if !cont(1) {
			return replacementChar, 1
		}
		return uint32(b&0x1F)<<6 | uint32(s[i+1]&0x3F), 2
	case b&0x10 == 0:
		if !cont(1) || !cont(2) {
			return replacementChar, 1
		}
		return uint32(b&0x0F)<<12 | uint32(s[i+1]&0x3F)<<6 | uint32(s[i+2]&0x3F), 3
	case b&0x08 == 0:
		if !cont(1) || !cont(2) || !cont(3) {
			return replacementChar, 1
		}
		c := uint32(b&0x07)<<18 | uint32(s[i+1]&0x3F)<<12 | uint32(s[i+2]&0x3F)<<6 | uint32(s[i+3]&0x3F)
		if c > 0x10FFFF {
			// llama.cpp throws when re-encoding such a value; we degrade it.
			return replacementChar, 4
		}
		return c, 4
	}
	return replacementChar, 1
}

// appendCpt appends the UTF-8 encoding of cpt (surrogates included, as
// llama.cpp encodes them).
func appendCpt(b []byte, c uint32) []byte {
	switch {
	case c <= 0x7F:
		return append(b, byte(c))
	case c <= 0x7FF:
		return append(b, 0xC0|byte(c>>6), 0x80|byte(c&0x3F))
	case c <= 0xFFFF:
		return append(b, 0xE0|byte(c>>12), 0x80|byte(c>>6&0x3F), 0x80|byte(c&0x3F))
	case c <= 0x10FFFF:
		return append(b, 0xF0|byte(c>>18), 0x80|byte(c>>12&0x3F), 0x80|byte(c>>6&0x3F), 0x80|byte(c&0x3F))
	}
	return append(b, 0xEF, 0xBF, 0xBD)
}

func cptsToString(cpts []uint32) string {
	b := make([]byte, 0, len(cpts))
	for _, c := range cpts {
		b = appendCpt(b, c)
	}
	return string(b)
}

// toLower maps a codepoint to lowercase with llama.cpp's table.
func toLower(c uint32) uint32 {
	n := len(ucdLowercase) / 2
	i := sort.Search(n, func(i int) bool { return ucdLowercase[2*i] >= c })
	if i < n && ucdLowercase[2*i] == c {
		return ucdLowercase[2*i+1]
	}
	return c
}

// toNFD maps a codepoint to its base codepoint (llama.cpp's simplified
// "NFD": one codepoint in, one out).
func toNFD(c uint32) uint32 {
	n := len(ucdNFD) / 3
	i := sort.Search(n, func(i int) bool { return ucdNFD[3*i] > c }) - 1
	if i >= 0 && ucdNFD[3*i] <= c && c <= ucdNFD[3*i+1] {
		return ucdNFD[3*i+2]
	}
	return c
}

// Byte-level BPE maps every byte to a printable codepoint (GPT-2's
// bytes_to_unicode): printable Latin-1 bytes map to themselves, the other
// 68 bytes to U+0100 onwards in byte order.
var (
	byteToRune [256]rune
	runeToByte map[rune]byte
	byteOnce   sync.Once
)

func initByteMap() {
	runeToByte = make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteEncode applies the byte-to-unicode mapping to every byte of s.
func byteEncode(s string) string {
	byteOnce.Do(initByteMap)
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = appendCpt(b, uint32(byteToRune[s[i]]))
	}
	return string(b)
}
