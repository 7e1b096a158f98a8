use super::*;

fn chain() -> Vec<ChainDir> {
    vec![
        ChainDir {
            kind: ChainKind::Quote,
            path: "/src/lua".into(),
        },
        ChainDir {
            kind: ChainKind::System,
            path: "/usr/include".into(),
        },
    ]
}

#[test]
fn manifest_need_and_blobs_round_trip_byte_by_byte() {
    let mut wire = Vec::new();
    encode_manifest(&mut wire, b"manifest text\n", &chain()).unwrap();
    encode_blob(&mut wire, b"int x;\n").unwrap();
    let mut dec = CasDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut part = None;
    let mut bytes = wire.iter();
    // Fed one byte at a time: every prefix is "need more", never an error.
    while part.is_none() {
        buf.extend_from_slice(&[*bytes.next().unwrap()]);
        part = dec.decode_manifest(&mut buf).unwrap();
    }
    let part = part.unwrap();
    assert_eq!(part.manifest_text, b"manifest text\n");
    assert_eq!(part.chain, chain());
    let mut blob = None;
    while blob.is_none() {
        buf.extend_from_slice(&[*bytes.next().unwrap()]);
        blob = dec.decode_blob(&mut buf, 7).unwrap();
    }
    assert_eq!(blob.unwrap(), b"int x;\n");
    assert!(bytes.next().is_none());

    let hashes = [[1u8; HASH_LEN], [2u8; HASH_LEN]];
    let mut need = Vec::new();
    encode_need(&mut need, &hashes).unwrap();
    let mut buf = BytesMut::from(&need[..need.len() - 1]);
    assert_eq!(decode_need(&mut buf, 2).unwrap(), None);
    buf.extend_from_slice(&need[need.len() - 1..]);
    assert_eq!(decode_need(&mut buf, 2).unwrap().unwrap(), hashes.to_vec());
}

#[test]
fn need_with_more_hashes_than_the_manifest_has_files_is_refused() {
    let mut need = Vec::new();
    encode_need(&mut need, &[[0u8; HASH_LEN]; 3]).unwrap();
    let mut buf = BytesMut::from(&need[..HEADER_LEN]);
    // Refused from the header alone, before the body is buffered.
    assert!(matches!(
        decode_need(&mut buf, 2),
        Err(ProtoError::TooLong { .. })
    ));
}

#[test]
fn need_that_is_not_whole_hashes_is_refused() {
    let mut need = Vec::new();
    encode_body(&mut need, NEED, &[0u8; 33]).unwrap();
    let mut buf = BytesMut::from(&need[..]);
    assert!(matches!(
        decode_need(&mut buf, 4),
        Err(ProtoError::BadValue { .. })
    ));
}

#[test]
fn blob_larger_than_the_manifest_says_is_refused() {
    let mut wire = Vec::new();
    encode_blob(&mut wire, &[b'a'; 100]).unwrap();
    let mut buf = BytesMut::from(&wire[..]);
    let mut dec = CasDecoder::new(Limits::default());
    assert!(dec.decode_blob(&mut buf, 99).is_err());
}

#[test]
fn blob_bomb_stops_at_the_file_size() {
    // 8192 RLE blocks inflate to 1 GiB; the manifest said 10 bytes.
    let mut wire = Vec::new();
    encode_body(&mut wire, BLOB, &crate::compress::zstd_rle_frame(8192)).unwrap();
    let mut buf = BytesMut::from(&wire[..]);
    let mut dec = CasDecoder::new(Limits::default());
    assert!(dec.decode_blob(&mut buf, 10).is_err());
}

#[test]
fn hostile_chains_are_refused() {
    for bad in [
        "I relative/dir\n",
        "L /usr/include\n",
        "I /a",
        "I /a\n\n",
        "isystem\n",
    ] {
        assert!(parse_chain(bad).is_err(), "{bad:?}");
    }
    let long = "I /a\n".repeat(MAX_CHAIN + 1);
    assert!(matches!(
        parse_chain(&long),
        Err(ProtoError::TooMany { .. })
    ));
    assert_eq!(parse_chain("").unwrap(), vec![]);
    assert!(
        chain_text(&[ChainDir {
            kind: ChainKind::After,
            path: "/a\nb".into()
        }])
        .is_err()
    );
}

#[test]
fn wrong_token_derails() {
    let mut wire = Vec::new();
    encode_blob(&mut wire, b"x").unwrap();
    let mut buf = BytesMut::from(&wire[..]);
    let mut dec = CasDecoder::new(Limits::default());
    assert!(matches!(
        dec.decode_manifest(&mut buf),
        Err(ProtoError::UnexpectedToken { .. })
    ));
}

/// Writes fuzz/corpus/cas_request seeds: `cargo test -p dcc-proto --lib -- --ignored cas_seeds`.
#[test]
#[ignore]
fn cas_seeds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/cas_request");
    let mut wire = vec![7u8];
    encode_manifest(&mut wire, b"m\n", &chain()).unwrap();
    encode_blob(&mut wire, b"int x;\n").unwrap();
    std::fs::write(format!("{dir}/seed-request"), &wire).unwrap();
    let mut need = vec![2u8];
    encode_need(&mut need, &[[1u8; HASH_LEN], [2u8; HASH_LEN]]).unwrap();
    std::fs::write(format!("{dir}/seed-need"), &need).unwrap();
}
