//! One way to read the CSV files scalerisk takes in (a runs CSV, a column to resample, a law's
//! bootstrap draws, a run folder's tables for `plot`): a header row, then each record with the
//! line of the file it is on, taken from the csv crate's [`csv::Position`] rather than counted
//! (a quoted cell may span lines, and blank lines are skipped), so a message points at the line
//! an editor shows.

use csv::StringRecord;

/// A CSV text being read: its header row, then its records.
pub struct Csv<'a> {
    text: &'a str,
    rd: csv::Reader<&'a [u8]>,
    headers: StringRecord,
}

/// One record and the line it is on (1-based).
pub struct Row {
    pub line: u64,
    pub cells: StringRecord,
}

/// A record the csv crate refused (e.g. a different number of fields than the header), with the
/// line it is on.
#[derive(Debug)]
pub struct Bad {
    pub line: u64,
    pub error: csv::Error,
}

/// How cells are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cells {
    /// Whitespace around cells and header names removed (files a person writes).
    Trimmed,
    /// As written (the files scalerisk itself wrote).
    Exact,
}

impl<'a> Csv<'a> {
    /// Read the header row of `text`; the csv crate's error when it cannot.
    pub fn new(text: &'a str, cells: Cells) -> Result<Csv<'a>, csv::Error> {
        let trim = match cells {
            Cells::Trimmed => csv::Trim::All,
            Cells::Exact => csv::Trim::None,
        };
        let mut rd = csv::ReaderBuilder::new()
            .trim(trim)
            .from_reader(text.as_bytes());
        let headers = rd.headers()?.clone();
        Ok(Csv { text, rd, headers })
    }

    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// The line a record read from `pos` is on: the csv crate positions a record where its read
    /// began, before any blank lines it skipped, so those are counted here.
    fn line_at(&self, pos: &csv::Position) -> u64 {
        let rest = self
            .text
            .as_bytes()
            .get(pos.byte() as usize..)
            .unwrap_or(&[]);
        let blank = rest
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .filter(|&&b| b == b'\n')
            .count();
        pos.line() + blank as u64
    }

    /// The next record, `None` at the end.
    pub fn next_row(&mut self) -> Option<Result<Row, Bad>> {
        let start = self.rd.position().clone();
        let mut cells = StringRecord::new();
        match self.rd.read_record(&mut cells) {
            Ok(true) => {
                let line = self.line_at(cells.position().unwrap_or(&start));
                Some(Ok(Row { line, cells }))
            }
            Ok(false) => None,
            Err(error) => {
                let line = self.line_at(error.position().unwrap_or(&start));
                Some(Err(Bad { line, error }))
            }
        }
    }
}

impl Iterator for Csv<'_> {
    type Item = Result<Row, Bad>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Result<u64, u64>> {
        Csv::new(text, Cells::Trimmed)
            .unwrap()
            .map(|r| r.map(|r| r.line).map_err(|b| b.line))
            .collect()
    }

    #[test]
    fn lines_are_the_files_lines() {
        assert_eq!(lines("a,b\n1,2\n3,4\n"), [Ok(2), Ok(3)]);
        // A quoted cell over two lines: the next record is on line 4, not 3.
        assert_eq!(lines("a,b\n\"x\ny\",2\n3,4\n"), [Ok(2), Ok(4)]);
        // Blank lines are skipped, and counted.
        assert_eq!(lines("a,b\n\n\n1,2\r\n\r\n3,4"), [Ok(4), Ok(6)]);
        // A record with a missing field is refused on its own line.
        assert_eq!(lines("a,b\n1,2\n\n3\n"), [Ok(2), Err(4)]);
    }

    #[test]
    fn cells_trimmed_or_exact() {
        let mut t = Csv::new(" a , b\n 1 ,2\n", Cells::Trimmed).unwrap();
        assert_eq!(t.headers().iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(&t.next_row().unwrap().unwrap().cells[0], "1");
        let mut e = Csv::new(" a , b\n 1 ,2\n", Cells::Exact).unwrap();
        assert_eq!(&e.headers()[0], " a ");
        assert_eq!(&e.next_row().unwrap().unwrap().cells[0], " 1 ");
    }
}
