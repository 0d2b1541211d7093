//! Guest data: what a backing chain of image files shows the guest, and
//! copying it into another image ([`copy_data`]), as a block job's copy
//! leaves it.
//!
//! A chain is read top first: the top-most layer that holds a range (data,
//! or zeroes of its own) gives it; a range no layer holds reads as zeroes,
//! and so does a range past a layer's virtual size. The copy writes a raw
//! image in place and a qcow2 image cluster by cluster with
//! [`Qcow2Writer`](super::qcow2::write::Qcow2Writer): a cluster the copy
//! covers only in part keeps, for the rest, what the image showed before
//! (its own data or its backing file's, as a guest write would).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::error::{Error, ErrorKind};
use super::extents::Extents;
use super::qcow2::{
    L1E_OFFSET_MASK, L2E_OFFSET_MASK, OFLAG_COMPRESSED, OFLAG_ZERO, SUBCLUSTERS, be64,
};
use super::{Format, ImageInfo};

/// Backing chains longer than this are refused (a loop of backing names).
const MAX_CHAIN: usize = 64;
/// How much of a raw image one write covers at most.
const RAW_CHUNK: u64 = 1 << 20;

/// What one layer holds at a guest offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Data at this offset of the file.
    Data(u64),
    /// Zeroes, without going to the backing file.
    Zero,
    /// Nothing: reads go to the backing file.
    Unallocated,
}

/// One image file of a chain, open for reading its data.
pub(crate) struct Layer {
    file: File,
    name: String,
    /// Metadata as [`super::read`] gives it.
    pub info: ImageInfo,
    /// The active L1 table (qcow2).
    l1: Vec<u64>,
    /// L2 tables read so far, by offset.
    l2: std::cell::RefCell<HashMap<u64, std::rc::Rc<Vec<u8>>>>,
}

impl Layer {
    /// Opens the image `path` as `format` (checked as [`super::read`]
    /// checks it).
    pub fn open(path: &Path, format: Format) -> Result<Self, Error> {
        let info = super::read(path, format)?;
        let name = path.display().to_string();
        let file =
            File::open(path).map_err(|e| Error::os(format!("Could not open '{name}'"), &e))?;
        let mut layer = Self {
            file,
            name,
            info,
            l1: Vec::new(),
            l2: Default::default(),
        };
        if let Some(h) = layer.info.qcow2.clone() {
            let bytes = layer.read_file(h.l1_table_offset, u64::from(h.l1_size) * 8)?;
            layer.l1 = bytes.chunks_exact(8).map(|e| be64(e, 0)).collect();
        }
        Ok(layer)
    }

    /// `len` bytes of the file from `offset` (zeroes past its end).
    fn read_file(&self, offset: u64, len: u64) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; len as usize];
        self.read_into(offset, &mut buf)?;
        Ok(buf)
    }

    fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => {
                    buf[done..].fill(0);
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::os(format!("Could not read '{}'", self.name), &e)),
            }
        }
        Ok(())
    }

    /// What the layer holds at guest offset `off`, and for how many bytes
    /// from there it holds the same (to the end of the cluster or
    /// subcluster at least).
    pub fn status(&self, off: u64) -> Result<(Status, u64), Error> {
        let size = self.info.virtual_size;
        if off >= size {
            return Ok((Status::Zero, u64::MAX));
        }
        let Some(h) = &self.info.qcow2 else {
            return Ok((Status::Data(off), size - off));
        };
        let cs = h.cluster_size();
        let extended = h.extended_l2();
        let entry_len = if extended { 16 } else { 8 };
        let l2_entries = cs / entry_len;
        let cluster = off / cs;
        let in_cluster = off % cs;
        let to_cluster_end = (cs - in_cluster).min(size - off);
        let l1_entry = self
            .l1
            .get((cluster / l2_entries) as usize)
            .copied()
            .unwrap_or(0);
        let l2_offset = l1_entry & L1E_OFFSET_MASK;
        if l2_offset == 0 {
            return Ok((Status::Unallocated, to_cluster_end));
        }
        let table = self.l2_table(l2_offset, cs)?;
        let at = ((cluster % l2_entries) * entry_len) as usize;
        let entry = be64(&table, at);
        if entry & OFLAG_COMPRESSED != 0 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "qjob does not read compressed clusters ('{}', offset {off})",
                    self.name
                ),
            ));
        }
        let host = entry & L2E_OFFSET_MASK;
        if !extended {
            let status = if h.version >= 3 && entry & OFLAG_ZERO != 0 {
                Status::Zero
            } else if host != 0 {
                Status::Data(host + in_cluster)
            } else {
                Status::Unallocated
            };
            return Ok((status, to_cluster_end));
        }
        let bitmap = be64(&table, at + 8);
        let sub = cs / SUBCLUSTERS;
        let i = in_cluster / sub;
        let run = (sub - in_cluster % sub).min(size - off);
        let status = if (bitmap >> 32) & (1 << i) != 0 {
            Status::Zero
        } else if bitmap & (1 << i) != 0 {
            Status::Data(host + in_cluster)
        } else {
            Status::Unallocated
        };
        Ok((status, run))
    }

    fn l2_table(&self, offset: u64, cs: u64) -> Result<std::rc::Rc<Vec<u8>>, Error> {
        if let Some(t) = self.l2.borrow().get(&offset) {
            return Ok(t.clone());
        }
        let t = std::rc::Rc::new(self.read_file(offset, cs)?);
        self.l2.borrow_mut().insert(offset, t.clone());
        Ok(t)
    }

    /// The ranges of the guest disk this layer holds (data or zeroes).
    pub fn held(&self) -> Vec<(u64, u64)> {
        union(&self.info.data, &self.info.zero)
    }
}

/// A backing chain, top first.
pub(crate) struct Chain {
    layers: Vec<Layer>,
}

impl Chain {
    /// The image `path` as `format` and, for a qcow2 image, its backing
    /// files (named relative to the image that names them, in the format
    /// the image names or else the one their content shows).
    pub fn open(path: &Path, format: Format) -> Result<Self, Error> {
        let mut layers = vec![Layer::open(path, format)?];
        let mut name = path.to_path_buf();
        while let Some(backing) = layers.last().and_then(|l| l.info.backing_file.clone()) {
            if layers.len() >= MAX_CHAIN {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("Backing chain of '{}' too long", path.display()),
                ));
            }
            let next = backing_path(&name, &backing);
            let format = match layers.last().and_then(|l| l.info.backing_format.as_deref()) {
                Some(f) => Format::from_driver(f).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unsupported,
                        format!("qjob does not read '{f}' images"),
                    )
                })?,
                None => super::probe(&next)?,
            };
            layers.push(Layer::open(&next, format)?);
            name = next;
        }
        Ok(Self { layers })
    }

    /// A chain of the given layers (a section: what is below the last one
    /// is not read, it reads as zeroes).
    pub fn of(layers: Vec<Layer>) -> Self {
        Self { layers }
    }

    /// The top layer.
    pub fn top(&self) -> &Layer {
        &self.layers[0]
    }

    /// Reads what the guest sees at `off` into `buf`.
    pub fn read(&self, off: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.read_from(0, off, buf)
    }

    fn read_from(&self, index: usize, off: u64, buf: &mut [u8]) -> Result<(), Error> {
        let Some(layer) = self.layers.get(index) else {
            buf.fill(0);
            return Ok(());
        };
        let mut done = 0usize;
        while done < buf.len() {
            let at = off + done as u64;
            let (status, run) = layer.status(at)?;
            let n = run.min((buf.len() - done) as u64) as usize;
            let part = &mut buf[done..done + n];
            match status {
                Status::Data(host) => layer.read_into(host, part)?,
                Status::Zero => part.fill(0),
                Status::Unallocated => self.read_from(index + 1, at, part)?,
            }
            done += n;
        }
        Ok(())
    }

    /// The ranges some layer of the chain holds.
    pub fn held(&self) -> Vec<(u64, u64)> {
        self.layers
            .iter()
            .fold(Vec::new(), |acc, l| union(&acc, &l.held()))
    }
}

/// `path_combine`: a backing file name relative to its overlay's directory.
fn backing_path(overlay: &Path, backing: &str) -> std::path::PathBuf {
    if backing.starts_with('/') {
        return backing.into();
    }
    match overlay
        .to_str()
        .and_then(|o| o.rfind('/').map(|i| &o[..=i]))
    {
        Some(dir) => format!("{dir}{backing}").into(),
        None => backing.into(),
    }
}

/// The union of two sorted lists of disjoint extents, coalesced.
pub(crate) fn union(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut all: Vec<(u64, u64)> = a.iter().chain(b).copied().filter(|e| e.1 > 0).collect();
    all.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (o, l) in all {
        match out.last_mut() {
            Some(last) if o <= last.0 + last.1 => {
                last.1 = last.1.max(o + l - last.0);
            }
            _ => out.push((o, l)),
        }
    }
    out
}

/// Whether an extent of `list` (sorted, disjoint) meets `[start, end)`.
pub(crate) fn overlaps(list: &[(u64, u64)], start: u64, end: u64) -> bool {
    let i = list.partition_point(|&(o, l)| o + l <= start);
    list.get(i).is_some_and(|&(o, _)| o < end)
}

/// `a` without what `b` covers (both sorted, disjoint).
pub(crate) fn subtract(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Extents::default();
    for &(o, l) in a {
        let mut at = o;
        let end = o + l;
        for &(bo, bl) in b {
            if bo + bl <= at || bo >= end {
                continue;
            }
            out.push(at, bo.saturating_sub(at).min(end - at));
            at = at.max(bo + bl);
            if at >= end {
                break;
            }
        }
        if at < end {
            out.push(at, end - at);
        }
    }
    out.clipped(u64::MAX)
}

/// What [`copy_data`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Guest bytes the copy covered.
    pub bytes: u64,
    /// qcow2 clusters newly allocated for data (0 for a raw image).
    pub clusters: u64,
}

/// Copies the guest data that the chain section `from` (image files with
/// their formats, top first; what lies below the last one is not read)
/// holds into the image `to`: afterwards `to` reads, wherever a layer of
/// `from` holds data or zeroes, what `from` shows there; the rest of `to`
/// is as it was, unless the last layer of `from` has no backing file: then
/// `from` shows the whole disk (zeroes where nothing holds data), and so
/// does `to` afterwards. With `only_unallocated`, ranges `to` holds itself are
/// left alone too. A qcow2 image stays consistent (`qemu-img check`):
/// new clusters, L2 tables and refcount blocks go at the end of the file,
/// the refcount table grows (moves) as needed; a qcow2 image with internal
/// snapshots, or compressed clusters to read, is refused.
pub fn copy_data(
    from: &[(&Path, Format)],
    to: (&Path, Format),
    only_unallocated: bool,
) -> Result<CopyStats, Error> {
    let layers = from
        .iter()
        .map(|&(p, f)| Layer::open(p, f))
        .collect::<Result<Vec<_>, _>>()?;
    let source = Chain::of(layers);
    let target = Chain::open(to.0, to.1)?;
    let size = target.top().info.virtual_size;
    let mut ranges = Extents::default();
    for (o, l) in source.held() {
        if o < size {
            ranges.push(o, l.min(size - o));
        }
    }
    let mut ranges = ranges.clipped(size);
    // A section down to the bottom of its chain shows the whole disk
    // (zeroes where no layer holds anything), as a full copy writes it.
    let whole = source
        .layers
        .last()
        .is_some_and(|l| l.info.backing_file.is_none());
    if whole && !only_unallocated && size > 0 {
        ranges = vec![(0, size)];
    }
    if only_unallocated {
        ranges = subtract(&ranges, &target.top().held());
    }
    let bytes = ranges.iter().map(|&(_, l)| l).sum();
    let clusters = match to.1 {
        Format::Raw => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(to.0)
                .map_err(|e| Error::os(format!("Could not open '{}'", to.0.display()), &e))?;
            for &(o, l) in &ranges {
                let mut at = o;
                while at < o + l {
                    let n = RAW_CHUNK.min(o + l - at);
                    let mut buf = vec![0u8; n as usize];
                    source.read(at, &mut buf)?;
                    let mut old = vec![0u8; n as usize];
                    target.read(at, &mut old)?;
                    // What the image shows already is not written again.
                    if old != buf {
                        file.write_all_at(&buf, at).map_err(|e| {
                            Error::os(format!("Could not write '{}'", to.0.display()), &e)
                        })?;
                    }
                    at += n;
                }
            }
            0
        }
        Format::Qcow2 => {
            let mut w = super::qcow2::write::Qcow2Writer::open(to.0)?;
            let cs = w.cluster_size();
            let has_backing = target.layers.len() > 1;
            let target_held = target.top().held();
            let mut i = 0;
            while i < ranges.len() {
                let cluster = ranges[i].0 / cs;
                let start = cluster * cs;
                let end = (start + cs).min(size);
                let mut buf = vec![0u8; (end - start) as usize];
                // What the copy does not cover keeps what the image shows.
                let covered: u64 = ranges[i..]
                    .iter()
                    .take_while(|&&(o, _)| o < end)
                    .map(|&(o, l)| (o + l).min(end) - o.max(start))
                    .sum();
                if covered < end - start {
                    target.read(start, &mut buf)?;
                }
                for &(o, l) in ranges[i..].iter().take_while(|&&(o, _)| o < end) {
                    let (a, b) = (o.max(start), (o + l).min(end));
                    source.read(a, &mut buf[(a - start) as usize..(b - start) as usize])?;
                }
                // Zeroes over nothing read as zeroes already.
                let unallocated = !overlaps(&target_held, start, end);
                if !(unallocated && !has_backing && buf.iter().all(|&b| b == 0)) {
                    w.write_cluster(cluster, &buf)?;
                }
                // On to the first range that reaches past this cluster.
                while i < ranges.len() && ranges[i].0 + ranges[i].1 <= end {
                    i += 1;
                }
                if i < ranges.len() && ranges[i].0 < end {
                    let cut = end - ranges[i].0;
                    ranges[i] = (end, ranges[i].1 - cut);
                }
            }
            w.finish()?
        }
    };
    Ok(CopyStats { bytes, clusters })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_unite_and_subtract() {
        assert_eq!(
            union(&[(0, 10), (20, 5)], &[(5, 10), (30, 1)]),
            vec![(0, 15), (20, 5), (30, 1)]
        );
        assert_eq!(
            subtract(&[(0, 100)], &[(10, 10), (50, 60)]),
            vec![(0, 10), (20, 30)]
        );
        assert_eq!(subtract(&[(0, 10)], &[]), vec![(0, 10)]);
        let list = [(10, 10), (40, 5)];
        assert!(!overlaps(&list, 0, 10) && overlaps(&list, 0, 11));
        assert!(overlaps(&list, 19, 40) && !overlaps(&list, 20, 40) && !overlaps(&list, 45, 99));
    }

    #[test]
    fn backing_names_are_relative_to_their_overlay() {
        assert_eq!(
            backing_path(Path::new("/d/top"), "base"),
            Path::new("/d/base")
        );
        assert_eq!(backing_path(Path::new("top"), "base"), Path::new("base"));
        assert_eq!(backing_path(Path::new("/d/top"), "/x"), Path::new("/x"));
    }
}
