//! The run's tables as typed columns in memory, for bindings (the Python package) that hand them
//! to a DataFrame library without writing or parsing CSV text.
//!
//! The columns come from the same row structs and headers the CSV writers serialize, through a
//! serde serializer that keeps each cell's value instead of its text: a [`Num`](super::Num) cell
//! arrives as the f64 the CSV prints in shortest round-trip form (NaN where the CSV cell is empty,
//! ±inf where it says `inf`), a `bool` as a bool, a count as an integer, a name as a string. The
//! serializer says it is not human-readable, which is how `Num` tells it from the CSV writer.

use serde::ser::{self, Serialize};

use crate::error::{Error, Result};
use crate::pipeline::RunResult;

/// One column's values, all of one type.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    F64(Vec<f64>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn empty_like(c: &Cell) -> Column {
        match c {
            Cell::F64(_) => Column::F64(Vec::new()),
            Cell::I64(_) => Column::I64(Vec::new()),
            Cell::Bool(_) => Column::Bool(Vec::new()),
            Cell::Str(_) => Column::Str(Vec::new()),
        }
    }

    /// Append `c`, or refuse a cell of another type than the column's.
    fn push(&mut self, c: Cell) -> std::result::Result<(), Cell> {
        match (self, c) {
            (Column::F64(v), Cell::F64(x)) => v.push(x),
            (Column::I64(v), Cell::I64(x)) => v.push(x),
            (Column::Bool(v), Cell::Bool(x)) => v.push(x),
            (Column::Str(v), Cell::Str(x)) => v.push(x),
            (_, c) => return Err(c),
        }
        Ok(())
    }
}

/// A table: its columns in the CSV's header order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<(String, Column)>,
}

impl Table {
    /// Rows in the table.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
}

/// One cell as the serializer met it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    F64(f64),
    I64(i64),
    Bool(bool),
    Str(String),
}

/// The cells of one serialized row, flattened as the csv crate flattens it (nested structs,
/// tuples and arrays in order), each with the name of the struct field it came from, if any.
fn cells<T: Serialize>(row: &T) -> Result<Vec<(Option<&'static str>, Cell)>> {
    let mut out = Vec::new();
    row.serialize(Cells {
        out: &mut out,
        key: None,
    })
    .map_err(|e| Error::Runtime(format!("building a table: {e}")))?;
    Ok(out)
}

/// The columns of `rows` under `header` (the names the CSV writes); `proto` gives the column
/// types when there are no rows (the CSV's header-only file).
fn build<T: Serialize>(
    header: Vec<String>,
    proto: Option<&T>,
    rows: impl IntoIterator<Item = T>,
) -> Result<Table> {
    let mut columns: Option<Vec<Column>> = None;
    let mismatch = |what: String| Error::Runtime(format!("building a table: {what}"));
    for row in rows {
        let cs = cells(&row)?;
        if cs.len() != header.len() {
            return Err(mismatch(format!(
                "{} cells for {} columns",
                cs.len(),
                header.len()
            )));
        }
        let cols =
            columns.get_or_insert_with(|| cs.iter().map(|(_, c)| Column::empty_like(c)).collect());
        for (k, (col, (_, c))) in cols.iter_mut().zip(cs).enumerate() {
            col.push(c)
                .map_err(|c| mismatch(format!("column {} got {c:?}", header[k])))?;
        }
    }
    let columns = match (columns, proto) {
        (Some(c), _) => c,
        (None, Some(p)) => cells(p)?
            .iter()
            .map(|(_, c)| Column::empty_like(c))
            .collect(),
        (None, None) => header.iter().map(|_| Column::F64(Vec::new())).collect(),
    };
    Ok(Table {
        columns: header.into_iter().zip(columns).collect(),
    })
}

/// The header the csv crate writes for a flat row struct: its field names, in order.
fn field_names<T: Serialize + Default>() -> Result<Vec<String>> {
    cells(&T::default())?
        .into_iter()
        .map(|(k, _)| {
            k.map(str::to_string)
                .ok_or_else(|| Error::Runtime("building a table: a cell without a name".into()))
        })
        .collect()
}

/// A table of row structs whose field names are the header (as [`super::rows_csv`] writes it).
pub(crate) fn of_rows<T: Serialize + Default>(rows: impl IntoIterator<Item = T>) -> Result<Table> {
    build(field_names::<T>()?, Some(&T::default()), rows)
}

/// A table of rows under a header the writer gives itself (`headerless_writer`).
pub(crate) fn with_header<T: Serialize>(
    header: Vec<String>,
    rows: impl IntoIterator<Item = T>,
) -> Result<Table> {
    build(header, None, rows)
}

/// Every table of a run, by the name of its CSV without `.csv`, in the order [`super::files`]
/// writes them: configs, draws, frontier, information, recommendations, sensitivity, observed
/// when the run has `[observations]`, and serving when it serves tokens.
pub fn tables(r: &RunResult) -> Result<Vec<(&'static str, Table)>> {
    let mut out = vec![
        ("configs", super::configs::table(r)?),
        ("draws", super::draws::table(r)?),
        ("frontier", super::frontier::table(r)?),
        ("information", super::information::table(r)?),
        ("recommendations", super::recommendations::table(r)?),
        ("sensitivity", super::sensitivity::table(r)?),
    ];
    if let Some(p) = &r.posterior {
        out.push(("observed", super::observed::table(p)?));
    }
    if super::serving::written(r) {
        out.push(("serving", super::serving::table(r)?));
    }
    Ok(out)
}

/// Serializes one row into cells.
struct Cells<'a> {
    out: &'a mut Vec<(Option<&'static str>, Cell)>,
    key: Option<&'static str>,
}

#[derive(Debug)]
struct Unsupported(String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        Unsupported(msg.to_string())
    }
}

type R = std::result::Result<(), Unsupported>;

impl Cells<'_> {
    fn put(self, c: Cell) -> R {
        self.out.push((self.key, c));
        Ok(())
    }

    fn unsupported(what: &str) -> R {
        Err(Unsupported(format!("{what} is not a table cell")))
    }

    fn int(self, v: impl TryInto<i64>) -> R {
        match v.try_into() {
            Ok(v) => self.put(Cell::I64(v)),
            Err(_) => Self::unsupported("an integer past i64"),
        }
    }
}

impl<'a> Cells<'a> {
    /// The elements of a sequence or tuple, under this cell's field name.
    fn nested(self) -> Nested<'a> {
        Nested {
            out: self.out,
            key: self.key,
        }
    }
}

/// Nested values (a row's fields, a tuple of structs, an array of cells) write into the same
/// list, each under its own field name.
struct Nested<'a> {
    out: &'a mut Vec<(Option<&'static str>, Cell)>,
    key: Option<&'static str>,
}

impl Nested<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, key: Option<&'static str>, v: &T) -> R {
        v.serialize(Cells {
            out: self.out,
            key: key.or(self.key),
        })
    }
}

/// Sequences, tuples and tuple structs: each element in order, under the enclosing field's name.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Nested<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: ?Sized + Serialize>(&mut self, v: &T) -> R {
                self.element(None, v)
            }
            fn end(self) -> R {
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeStruct for Nested<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> R {
        self.element(Some(key), v)
    }
    fn end(self) -> R {
        Ok(())
    }
}

/// Every integer type becomes an i64 cell (or is refused past i64).
macro_rules! integers {
    ($($method:ident : $t:ty),*) => {$(
        fn $method(self, v: $t) -> R {
            self.int(v)
        }
    )*};
}

impl<'a> ser::Serializer for Cells<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Nested<'a>;
    type SerializeTuple = Nested<'a>;
    type SerializeTupleStruct = Nested<'a>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = Nested<'a>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    /// Not human-readable: [`super::Num`] hands over its f64, not its CSV text.
    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> R {
        self.put(Cell::Bool(v))
    }
    integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );
    fn serialize_f32(self, v: f32) -> R {
        self.put(Cell::F64(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> R {
        self.put(Cell::F64(v))
    }
    fn serialize_char(self, v: char) -> R {
        self.put(Cell::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> R {
        self.put(Cell::Str(v.to_string()))
    }
    fn serialize_bytes(self, _: &[u8]) -> R {
        Self::unsupported("bytes")
    }
    fn serialize_none(self) -> R {
        Self::unsupported("an absent value")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Self::unsupported("a unit")
    }
    fn serialize_unit_struct(self, _: &'static str) -> R {
        Self::unsupported("a unit struct")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> R {
        self.put(Cell::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> R {
        Self::unsupported("an enum with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Nested<'a>, Unsupported> {
        Ok(self.nested())
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Nested<'a>, Unsupported> {
        Ok(self.nested())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Nested<'a>, Unsupported> {
        Ok(self.nested())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported("an enum with data is not a table cell".into()))
    }
    fn serialize_map(
        self,
        _: Option<usize>,
    ) -> std::result::Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported("a map is not a table cell".into()))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Nested<'a>, Unsupported> {
        Ok(Nested {
            out: self.out,
            key: None,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported("an enum with data is not a table cell".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Num;

    #[derive(serde::Serialize, Default)]
    struct Inner {
        x: Num,
        n: usize,
    }

    #[derive(serde::Serialize, Default)]
    struct Flat {
        a: Num,
        ok: bool,
        name: String,
    }

    /// A cell keeps the f64 the CSV writes as text, NaN and infinity included; nested
    /// structs and arrays flatten as the csv crate flattens them.
    #[test]
    fn cells_keep_values_and_flatten_like_the_csv() {
        let t = of_rows([Flat {
            a: Num(0.1),
            ok: true,
            name: "p".into(),
        }])
        .unwrap();
        assert_eq!(
            t.columns,
            vec![
                ("a".to_string(), Column::F64(vec![0.1])),
                ("ok".to_string(), Column::Bool(vec![true])),
                ("name".to_string(), Column::Str(vec!["p".into()])),
            ]
        );
        let rows = [(
            Inner {
                x: Num(f64::INFINITY),
                n: 3,
            },
            [Num(f64::NAN), Num(-2.5)],
        )];
        let t = with_header(
            ["x", "n", "q1", "q2"].map(String::from).to_vec(),
            rows.iter(),
        )
        .unwrap();
        assert_eq!(t.column("x"), Some(&Column::F64(vec![f64::INFINITY])));
        assert_eq!(t.column("n"), Some(&Column::I64(vec![3])));
        assert!(matches!(t.column("q1"), Some(Column::F64(v)) if v[0].is_nan()));
        assert_eq!(t.column("q2"), Some(&Column::F64(vec![-2.5])));
        // More cells than the header names is refused, not misaligned.
        assert!(with_header(vec!["x".into()], rows.iter()).is_err());
        // No rows: the header's columns with the prototype's types.
        let t = of_rows(std::iter::empty::<Flat>()).unwrap();
        assert_eq!(t.rows(), 0);
        assert_eq!(t.column("ok"), Some(&Column::Bool(vec![])));
    }
}
