//! Takes the four files the API docs page needs out of Swagger UI's archive (carried by the
//! `utoipa-swagger-ui-vendored` crate) at build time, gzipped, so the binary holds ~0.5 MB
//! of them instead of the whole 4.4 MB archive (mostly source maps the page never loads).

use std::io::{Read, Write};
use std::path::PathBuf;

/// Files of Swagger UI's `dist` folder that the page uses.
const FILES: &[&str] = &[
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let reader = std::io::Cursor::new(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED);
    let mut archive = zip::ZipArchive::new(reader).expect("Swagger UI archive readable");
    let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    let mut table = String::from("&[\n");
    for file in FILES {
        let suffix = format!("/dist/{file}");
        let name = names
            .iter()
            .find(|n| n.ends_with(&suffix) && n.matches('/').count() == 2)
            .unwrap_or_else(|| panic!("{file} is missing from the Swagger UI archive"));
        let mut raw = Vec::new();
        archive
            .by_name(name)
            .expect("archive entry")
            .read_to_end(&mut raw)
            .expect("archive entry readable");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let path = out.join(format!("{file}.gz"));
        std::fs::write(&path, gz).expect("write OUT_DIR");
        let hash: [u8; 32] =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&raw)).into();
        table.push_str(&format!(
            "    ({file:?}, include_bytes!({:?}), {hash:?}),\n",
            path.display().to_string()
        ));
    }
    table.push_str("]\n");
    std::fs::write(out.join("swagger_files.rs"), table).expect("write OUT_DIR");
}
