//! Downscaling of received images so the CLI never sees more than
//! `image.max_dimension` pixels on the longest side (§3.2 `image`, §6.8).
//!
//! Only still JPEG, PNG, WebP and BMP images are touched; GIFs, animated PNG/WebP
//! and images already small enough stay as they are. EXIF orientation is applied
//! before scaling, because re-encoding drops the tag.
//!
//! Output format (`image.output_format`):
//! - `jpeg`: JPEG at `image.quality` (transparent areas flattened onto white);
//! - `png`: lossless PNG (`quality` does not apply);
//! - `webp` (default): the `image` crate only writes *lossless* WebP. A lossless WebP
//!   of a photograph is several times larger than the JPEG it came from (and model
//!   APIs cap image sizes at a few MB), so a JPEG source is written as JPEG at
//!   `quality`; every other source (screenshots, drawings, PNGs with transparency)
//!   becomes lossless WebP.

use crate::config::model::ImageConfig;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

/// Largest width or height we try to decode.
const MAX_DECODE_SIDE: u32 = 20_000;
/// Memory the decoder may use (the decoded picture counts): about 40 megapixels of
/// RGB, so a picture bomb is refused before it is decoded on a small VPS.
const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;

/// One downscale at a time per agent: a burst of large images (an album) is worked
/// off in turn instead of holding several decoded pictures in memory at once.
pub static DOWNSCALES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// A downscaled image written by [`downscale`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaled {
    /// MIME type of the written file.
    pub mime: &'static str,
    /// Its extension.
    pub ext: &'static str,
    /// New width.
    pub width: u32,
    /// New height.
    pub height: u32,
}

/// Whether an image of this type may be downscaled (`head` = first bytes of the file).
pub fn eligible(mime: &str, head: &[u8]) -> bool {
    match mime {
        "image/jpeg" | "image/bmp" => true,
        // APNG announces its animation (`acTL`) before the first image data.
        "image/png" => !head.windows(4).any(|w| w == b"acTL"),
        // VP8X flags: bit 1 = animation.
        "image/webp" => {
            !(head.get(12..16) == Some(b"VP8X") && head.get(20).is_some_and(|f| f & 0x02 != 0))
        }
        _ => false,
    }
}

fn reader(src: &Path) -> Result<ImageReader<BufReader<std::fs::File>>, image::ImageError> {
    let mut reader = ImageReader::open(src)?.with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    Ok(reader)
}

/// Composites transparent pixels onto white (JPEG has no alpha).
fn flatten(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src[3]);
        for c in 0..3 {
            let blended = (u16::from(src[c]) * a + 255 * (255 - a)) / 255;
            // At most 255: a weighted mean of two values ≤ 255.
            dst[c] = blended as u8;
        }
    }
    out
}

/// Downscales `src` (of type `mime`) into `dst` when its longest side exceeds
/// `config.max_dimension`. `Ok(None)`: nothing to do, `dst` untouched. On error `dst`
/// may hold a partial file the caller removes; `src` is never modified.
pub fn downscale(
    src: &Path,
    mime: &str,
    dst: &Path,
    config: &ImageConfig,
) -> Result<Option<Scaled>, image::ImageError> {
    let bound = config.max_dimension.max(1);
    let (w, h) = reader(src)?.into_dimensions()?;
    if w.max(h) <= bound {
        return Ok(None);
    }
    let mut decoder = reader(src)?.into_decoder()?;
    // `from_decoder` does not hold the decoded picture against the limits itself.
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(image::ImageError::Limits(
            image::error::LimitError::from_kind(image::error::LimitErrorKind::InsufficientMemory),
        ));
    }
    let orientation = decoder.orientation()?;
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    let img = img.resize(bound, bound, FilterType::Lanczos3);
    let quality = config.quality.clamp(1, 100);
    let format = config.output_format.trim().to_ascii_lowercase();
    let mut out = BufWriter::new(std::fs::File::create(dst)?);
    let (mime, ext) = match format.as_str() {
        "png" => {
            img.write_with_encoder(PngEncoder::new(&mut out))?;
            ("image/png", "png")
        }
        "webp" if mime != "image/jpeg" => {
            let img = if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
            img.write_with_encoder(WebPEncoder::new_lossless(&mut out))?;
            ("image/webp", "webp")
        }
        other => {
            if !matches!(other, "jpeg" | "jpg" | "webp") {
                tracing::warn!(format = other, "unknown image.output_format; writing JPEG");
            }
            flatten(&img).write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))?;
            ("image/jpeg", "jpg")
        }
    };
    out.flush()?;
    out.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .sync_all()?;
    Ok(Some(Scaled {
        mime,
        ext,
        width: img.width(),
        height: img.height(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbaImage};

    fn config(format: &str) -> ImageConfig {
        ImageConfig {
            max_dimension: 200,
            output_format: format.into(),
            quality: 80,
        }
    }

    fn write_png(path: &Path, w: u32, h: u32) {
        let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        img.save_with_format(path, ImageFormat::Png).unwrap();
    }

    fn dims(path: &Path) -> (u32, u32) {
        ImageReader::open(path)
            .unwrap()
            .with_guessed_format()
            .unwrap()
            .into_dimensions()
            .unwrap()
    }

    /// CRC-32 of PNG chunks.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_picture_too_large_to_decode_is_refused_before_it_is_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("bomb.png");
        // A 15000×15000 RGB PNG header (675 MB decoded) with almost no data.
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(15_000u32.to_be_bytes());
        ihdr.extend(15_000u32.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc32(&ihdr).to_be_bytes());
        let idat = b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01".to_vec();
        png.extend(((idat.len() - 4) as u32).to_be_bytes());
        png.extend(&idat);
        png.extend(crc32(&idat).to_be_bytes());
        png.extend(0u32.to_be_bytes());
        png.extend(b"IEND");
        png.extend(crc32(b"IEND").to_be_bytes());
        std::fs::write(&src, &png).unwrap();
        let dst = dir.path().join("out");
        let err = downscale(&src, "image/png", &dst, &config("webp")).unwrap_err();
        assert!(
            matches!(err, image::ImageError::Limits(_)),
            "refused by the limits, not by running out: {err}"
        );
    }

    #[test]
    fn large_images_shrink_keeping_the_aspect_ratio() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("wide.png");
        write_png(&src, 600, 300);
        let before = std::fs::read(&src).unwrap();
        let dst = dir.path().join("out");
        let s = downscale(&src, "image/png", &dst, &config("webp"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (s.width, s.height, s.mime, s.ext),
            (200, 100, "image/webp", "webp")
        );
        assert_eq!(dims(&dst), (200, 100));
        assert_eq!(std::fs::read(&src).unwrap(), before, "source untouched");

        let s = downscale(&src, "image/png", &dst, &config("png"))
            .unwrap()
            .unwrap();
        assert_eq!((s.mime, dims(&dst)), ("image/png", (200, 100)));
        let s = downscale(&src, "image/png", &dst, &config("jpeg"))
            .unwrap()
            .unwrap();
        assert_eq!((s.mime, dims(&dst)), ("image/jpeg", (200, 100)));
    }

    #[test]
    fn a_3000_by_1500_png_fits_the_default_bound() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("big.png");
        write_png(&src, 3000, 1500);
        let dst = dir.path().join("out");
        let defaults = ImageConfig::default();
        let s = downscale(&src, "image/png", &dst, &defaults)
            .unwrap()
            .unwrap();
        assert_eq!((s.width, s.height), (2000, 1000));
        assert_eq!(dims(&dst), (2000, 1000));
        assert_eq!(s.mime, "image/webp");
        let head = std::fs::read(&dst).unwrap();
        assert_eq!(crate::chat::media::mime::magic(&head), Some("image/webp"));
    }

    #[test]
    fn jpeg_sources_stay_lossy_under_webp() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("tall.jpg");
        RgbImage::from_pixel(150, 450, Rgb([10, 200, 30]))
            .save_with_format(&src, ImageFormat::Jpeg)
            .unwrap();
        let dst = dir.path().join("out");
        let s = downscale(&src, "image/jpeg", &dst, &config("webp"))
            .unwrap()
            .unwrap();
        assert_eq!((s.mime, s.width, s.height), ("image/jpeg", 67, 200));
        assert_eq!(dims(&dst), (67, 200));
    }

    #[test]
    fn small_images_and_broken_files_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("small.png");
        write_png(&src, 200, 150);
        let dst = dir.path().join("out");
        assert_eq!(
            downscale(&src, "image/png", &dst, &config("webp")).unwrap(),
            None
        );
        assert!(!dst.exists());
        let broken = dir.path().join("broken.png");
        let mut bytes = std::fs::read(&src).unwrap();
        bytes.truncate(40);
        std::fs::write(&broken, &bytes).unwrap();
        assert!(downscale(&broken, "image/png", &dst, &config("webp")).is_err());
    }

    #[test]
    fn transparency_is_flattened_onto_white_for_jpeg() {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 0, 0])));
        assert_eq!(flatten(&img).get_pixel(0, 0), &Rgb([255, 255, 255]));
    }

    #[test]
    fn animations_are_not_eligible() {
        assert!(eligible("image/png", b"\x89PNG\r\n\x1a\n....IHDR"));
        assert!(!eligible("image/png", b"\x89PNG\r\n\x1a\n....IHDR....acTL"));
        assert!(eligible("image/webp", b"RIFF....WEBPVP8 ......"));
        assert!(!eligible("image/webp", b"RIFF....WEBPVP8X....\x02..."));
        assert!(!eligible("image/gif", b"GIF89a"));
        assert!(!eligible("application/pdf", b"%PDF"));
    }
}
