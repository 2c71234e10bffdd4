package sample

// MT19937 is the 32-bit Mersenne Twister (Matsumoto and Nishimura, 1998),
// the generator behind C++'s std::mt19937 that llama.cpp's dist sampler
// draws from. Using the same generator with the same seeding means a given
// seed yields the same stream of numbers as llama.cpp.
type MT19937 struct {
	state [mtN]uint32
	index int
}

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// NewMT19937 returns a generator seeded like std::mt19937(seed).
func NewMT19937(seed uint32) *MT19937 {
	m := &MT19937{}
	m.Seed(seed)
	return m
}

// Seed re-initializes the state with the standard linear recurrence.
func (m *MT19937) Seed(seed uint32) {
	m.state[0] = seed
	for i := 1; i < mtN; i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	m.index = mtN
}

// twist regenerates the whole state block.
func (m *MT19937) twist() {
	for i := range mtN {
		y := m.state[i]&mtUpperMask | m.state[(i+1)%mtN]&mtLowerMask
		v := m.state[(i+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		m.state[i] = v
	}
	m.index = 0
}

// Uint32 returns the next 32-bit output.
func (m *MT19937) Uint32() uint32 {
	if m.index >= mtN {
		m.twist()
	}
	y := m.state[m.index]
	m.index++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 returns a number in [0, 1) the way
// std::uniform_real_distribution<double>(0, 1) does with this generator in
// libstdc++ and libc++ (std::generate_canonical<double, 53>): two draws a
// and b combined as (a + b·2³²) / 2⁶⁴, rounded to double, and clamped
// below 1.
func (m *MT19937) Float64() float64 {
	a := float64(m.Uint32())
	b := float64(m.Uint32())
	r := (a + b*(1<<32)) / (1 << 64)
	if r >= 1 {
		r = 1 - 1.0/(1<<53) // nextafter(1, 0)
	}
	return r
}
