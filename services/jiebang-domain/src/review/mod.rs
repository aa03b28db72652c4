//! Expert review (专家评审): conflicts of interest ([`conflicts`]), how well an expert suits an
//! application ([`affinity`]), assigning experts exactly ([`assignment`]), turning sealed score
//! sheets into a ranking ([`aggregation`]) and the public notice period ([`notice`]).

pub mod affinity;
pub mod aggregation;
pub mod assignment;
pub mod conflicts;
pub mod notice;
pub mod pool;
pub mod sheet;
