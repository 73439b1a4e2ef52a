//! The MSB-first (not reflected) CRCs the media formats check their framing with: FLAC's
//! CRC-8 (polynomial 0x07) and CRC-16 (0x8005), Ogg's CRC-32 (0x04C11DB7), all with
//! initial value 0 and no final inversion. One table builder and one update serve every
//! width.

/// A CRC of `width` bits (8 to 32) with its table, built when compiling.
pub(super) struct Crc {
    table: [u32; 256],
    width: u32,
}

impl Crc {
    /// The CRC of `width` bits (8, 16 or 32) and polynomial `poly`.
    pub(super) const fn new(width: u32, poly: u32) -> Self {
        let top = 1u32 << (width - 1);
        let mask = mask(width);
        let mut table = [0u32; 256];
        let mut index = 0;
        while index < 256 {
            let mut crc = (index as u32) << (width - 8);
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & top != 0 {
                    ((crc << 1) ^ poly) & mask
                } else {
                    (crc << 1) & mask
                };
                bit += 1;
            }
            table[index] = crc;
            index += 1;
        }
        Self { table, width }
    }

    /// `crc` continued over `data`.
    pub(super) fn update(&self, crc: u32, data: &[u8]) -> u32 {
        let mask = mask(self.width);
        data.iter().fold(crc, |crc, &b| {
            let index = ((crc >> (self.width - 8)) as u8) ^ b;
            ((crc << 8) ^ self.table[usize::from(index)]) & mask
        })
    }
}

/// The low `width` bits.
const fn mask(width: u32) -> u32 {
    if width >= 32 {
        u32::MAX
    } else {
        (1u32 << width) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_width_matches_its_check_value() {
        // The catalogue's check values: the CRC of "123456789".
        assert_eq!(Crc::new(8, 0x07).update(0, b"123456789"), 0xF4);
        assert_eq!(Crc::new(16, 0x8005).update(0, b"123456789"), 0xFEE8);
        // CRC-32/MPEG-2 without its initial 0xFFFFFFFF: Ogg's.
        assert_eq!(
            Crc::new(32, 0x04C1_1DB7).update(0, b"123456789"),
            0x89A1_897F
        );
    }
}
