//! The PDF standard security handler (ISO 32000-2 §7.6.4), for one case only: a file that
//! opens without a password. Office software writes such files when a sender sets an
//! owner ("permissions") password, to stop printing or copying, and no user password: a
//! reader opens and shows them, so DLP must read them too. The empty user password is
//! checked against `/U` exactly as a reader checks it (revisions 2 to 6: RC4 40 to 128
//! bits, AES-128, AES-256); when it fits, the file key decrypts every string and stream.
//! When it does not, the file needs a password to open: it is encrypted, and reported so.
//! No other password is ever tried.

use aes::{Aes128, Aes256};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use md5::{Digest, Md5};
use sha2::{Sha256, Sha384, Sha512};

use super::lexer::{Dict, Obj, get};

/// The padding string of the standard handler (Algorithm 2, step a): the empty password
/// padded.
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// How strings or streams are encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Identity,
    Rc4,
    Aes128,
    Aes256,
}

/// The key and methods that decrypt a file which opens without a password.
#[derive(Debug)]
pub(super) struct Decryptor {
    key: Vec<u8>,
    strings: Method,
    streams: Method,
    /// Whether `/Type /Metadata` streams are encrypted too.
    metadata: bool,
}

impl Decryptor {
    /// The decryptor of a file whose trailer names `encrypt` (its `/Encrypt` dictionary)
    /// and whose `/ID` begins with `id`; an error (why it cannot be read) when the file
    /// needs a password to open or uses a handler other than the standard one.
    pub(super) fn new(encrypt: &Dict, id: &[u8]) -> Result<Self, String> {
        let name = |key: &[u8]| get(encrypt, key).and_then(Obj::as_name);
        let number = |key: &[u8]| get(encrypt, key).and_then(Obj::as_num);
        let string = |key: &[u8]| match get(encrypt, key) {
            Some(Obj::Str(bytes)) => Some(bytes.as_slice()),
            _ => None,
        };
        if name(b"Filter") != Some(b"Standard") {
            return Err("encrypted PDF with a certificate or another security handler".into());
        }
        let version = number(b"V").unwrap_or(0.0) as i64;
        let revision = number(b"R").unwrap_or(0.0) as i64;
        let (Some(owner), Some(user)) = (string(b"O"), string(b"U")) else {
            return Err("encrypted PDF with an incomplete /Encrypt dictionary".into());
        };
        let permissions = number(b"P").unwrap_or(0.0) as i64 as i32;
        let metadata = !matches!(get(encrypt, b"EncryptMetadata"), Some(Obj::Bool(false)));
        let (strings, streams) = match version {
            1 | 2 => (Method::Rc4, Method::Rc4),
            4 | 5 => (
                crypt_filter(encrypt, b"StrF"),
                crypt_filter(encrypt, b"StmF"),
            ),
            _ => return Err(format!("encrypted PDF of an unknown kind (/V {version})")),
        };
        let key = match revision {
            2..=4 => {
                let bits = number(b"Length").unwrap_or(if version == 4 { 128.0 } else { 40.0 });
                let len = if revision == 2 {
                    5
                } else {
                    ((bits as i64) / 8).clamp(5, 16) as usize
                };
                let key = rc4_file_key(owner, permissions, id, revision, len, metadata);
                if !user_fits(&key, user, id, revision) {
                    return Err(needs_password());
                }
                key
            }
            5 | 6 => {
                let (Some(check), Some(encrypted_key)) = (user.get(..48), string(b"UE")) else {
                    return Err("encrypted PDF with an incomplete /Encrypt dictionary".into());
                };
                let hash = |salt: &[u8]| {
                    if revision == 5 {
                        Sha256::digest(salt).to_vec()
                    } else {
                        hash_2b(b"", salt)
                    }
                };
                if hash(&check[32..40]) != check[..32] {
                    return Err(needs_password());
                }
                let intermediate = hash(&check[40..48]);
                let Some(file_key) = aes256_no_iv(&intermediate, encrypted_key) else {
                    return Err("encrypted PDF with a malformed /UE".into());
                };
                file_key
            }
            _ => {
                return Err(format!(
                    "encrypted PDF of an unknown revision (/R {revision})"
                ));
            }
        };
        Ok(Self {
            key,
            strings,
            streams,
            metadata,
        })
    }

    /// A string of object `number` (generation `generation`), decrypted.
    pub(super) fn string(&self, number: u32, generation: u16, data: &[u8]) -> Vec<u8> {
        self.decrypt(self.strings, number, generation, data)
    }

    /// A stream of object `number`, decrypted (`dict`: its dictionary, which may exempt it).
    pub(super) fn stream(&self, number: u32, generation: u16, dict: &Dict, data: &[u8]) -> Vec<u8> {
        let kind = get(dict, b"Type").and_then(Obj::as_name);
        if kind == Some(b"XRef") || (kind == Some(b"Metadata") && !self.metadata) {
            return data.to_vec();
        }
        // A stream may name the Identity crypt filter for itself.
        let identity = match get(dict, b"Filter") {
            Some(Obj::Name(name)) => name == b"Crypt",
            Some(Obj::Array(items)) => items.first().and_then(Obj::as_name) == Some(b"Crypt"),
            _ => false,
        };
        if identity {
            return data.to_vec();
        }
        self.decrypt(self.streams, number, generation, data)
    }

    fn decrypt(&self, method: Method, number: u32, generation: u16, data: &[u8]) -> Vec<u8> {
        match method {
            Method::Identity => data.to_vec(),
            Method::Aes256 => aes_cbc::<Aes256>(&self.key, data),
            Method::Rc4 | Method::Aes128 => {
                // Algorithm 1: the file key with the object's number and generation.
                let mut hasher = Md5::new();
                hasher.update(&self.key);
                hasher.update(&number.to_le_bytes()[..3]);
                hasher.update(generation.to_le_bytes());
                if method == Method::Aes128 {
                    hasher.update(b"sAlT");
                }
                let digest = hasher.finalize();
                let key = &digest[..(self.key.len() + 5).min(16)];
                if method == Method::Rc4 {
                    rc4(key, data)
                } else {
                    aes_cbc::<Aes128>(key, data)
                }
            }
        }
    }
}

fn needs_password() -> String {
    "encrypted PDF: it opens only with a password, so its text cannot be inspected".into()
}

/// The method of the crypt filter that `/StrF` or `/StmF` names (V4 and V5).
fn crypt_filter(encrypt: &Dict, which: &[u8]) -> Method {
    let Some(name) = get(encrypt, which).and_then(Obj::as_name) else {
        return Method::Identity;
    };
    if name == b"Identity" {
        return Method::Identity;
    }
    let filter = match get(encrypt, b"CF") {
        Some(Obj::Dict(filters)) => get(filters, name).and_then(Obj::as_dict),
        _ => None,
    };
    match filter.and_then(|f| get(f, b"CFM")).and_then(Obj::as_name) {
        Some(b"V2") => Method::Rc4,
        Some(b"AESV2") => Method::Aes128,
        Some(b"AESV3") => Method::Aes256,
        _ => Method::Identity,
    }
}

/// Algorithm 2 with the empty password: the file key of revisions 2 to 4.
fn rc4_file_key(
    owner: &[u8],
    permissions: i32,
    id: &[u8],
    revision: i64,
    len: usize,
    metadata: bool,
) -> Vec<u8> {
    let mut hasher = Md5::new();
    hasher.update(PAD);
    hasher.update(owner.get(..32).unwrap_or(owner));
    hasher.update(permissions.to_le_bytes());
    hasher.update(id);
    if revision >= 4 && !metadata {
        hasher.update([0xFF; 4]);
    }
    let mut digest = hasher.finalize().to_vec();
    if revision >= 3 {
        for _ in 0..50 {
            digest = Md5::digest(&digest[..len]).to_vec();
        }
    }
    digest.truncate(len);
    digest
}

/// Algorithms 4 and 5: does the empty password give `/U`?
fn user_fits(key: &[u8], user: &[u8], id: &[u8], revision: i64) -> bool {
    if revision == 2 {
        return user.get(..32) == Some(rc4(key, &PAD).as_slice());
    }
    let mut hasher = Md5::new();
    hasher.update(PAD);
    hasher.update(id);
    let mut value = rc4(key, &hasher.finalize());
    for round in 1..=19u8 {
        let round_key: Vec<u8> = key.iter().map(|b| b ^ round).collect();
        value = rc4(&round_key, &value);
    }
    user.get(..16) == Some(&value[..16])
}

/// Algorithm 2.B (revision 6): the hash of a password with a salt (the user's: no `/U`
/// data added).
fn hash_2b(password: &[u8], salt: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(password);
    hasher.update(salt);
    let mut k = hasher.finalize().to_vec();
    let mut round: u32 = 0;
    loop {
        let mut k1 = Vec::with_capacity(64 * (password.len() + k.len()));
        for _ in 0..64 {
            k1.extend_from_slice(password);
            k1.extend_from_slice(&k);
        }
        let Ok(cipher) = cbc::Encryptor::<Aes128>::new_from_slices(&k[..16], &k[16..32]) else {
            return k;
        };
        let e = cipher.encrypt_padded_vec::<NoPadding>(&k1);
        let sum: u32 = e[..16].iter().map(|&b| u32::from(b)).sum();
        k = match sum % 3 {
            0 => Sha256::digest(&e).to_vec(),
            1 => Sha384::digest(&e).to_vec(),
            _ => Sha512::digest(&e).to_vec(),
        };
        round += 1;
        let last = u32::from(e.last().copied().unwrap_or(0));
        if round >= 64 && last + 32 <= round {
            break;
        }
    }
    k.truncate(32);
    k
}

/// AES-256-CBC with a zero IV and no padding (the `/UE` key).
fn aes256_no_iv(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let cipher = cbc::Decryptor::<Aes256>::new_from_slices(key.get(..32)?, &[0; 16]).ok()?;
    let data = data.get(..32)?;
    cipher.decrypt_padded_vec::<NoPadding>(data).ok()
}

/// AES-CBC as PDF uses it: the IV first, PKCS#7 padding (kept when malformed: a reader
/// shows what it can).
fn aes_cbc<C>(key: &[u8], data: &[u8]) -> Vec<u8>
where
    C: BlockCipherDecrypt + KeyInit,
{
    let Some((iv, body)) = data.split_at_checked(16) else {
        return Vec::new();
    };
    let whole = body.len() - body.len() % 16;
    let Ok(cipher) = cbc::Decryptor::<C>::new_from_slices(key, iv) else {
        return Vec::new();
    };
    let Ok(mut plain) = cipher.decrypt_padded_vec::<NoPadding>(&body[..whole]) else {
        return Vec::new();
    };
    if let Some(&pad) = plain.last() {
        let pad = usize::from(pad);
        if (1..=16).contains(&pad)
            && pad <= plain.len()
            && plain[plain.len() - pad..]
                .iter()
                .all(|&b| usize::from(b) == pad)
        {
            plain.truncate(plain.len() - pad);
        }
    }
    plain
}

/// RC4 (the PDF handler's stream cipher; broken as a cipher, but the format's).
fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    if key.is_empty() {
        return data.to_vec();
    }
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j: u8 = 0;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, usize::from(j));
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|&b| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[usize::from(i)]);
            s.swap(usize::from(i), usize::from(j));
            let k = s[usize::from(s[usize::from(i)].wrapping_add(s[usize::from(j)]))];
            b ^ k
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_matches_its_published_vectors() {
        // RFC 6229 is for keystreams; these are the classic "Key"/"Plaintext" vectors.
        assert_eq!(
            rc4(b"Key", b"Plaintext"),
            [0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3]
        );
        assert_eq!(rc4(b"Wiki", b"pedia"), [0x10, 0x21, 0xBF, 0x04, 0x20]);
    }
}
