//! Real builds with `make -jN CC="<our distcc> gcc"`, through Debian's distccd and ours, with
//! protocols 1 (plain) and 2 (`,lzo`): every object byte-identical to a local build, and every
//! unit compiled on the helper (`DISTCC_FALLBACK=0`, so a silent local fallback fails the
//! build). C++: GoogleTest (the `gtest` workload) and a small project with templates and the
//! STL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use dcc_testkit::client::client_tmp_leftovers;
use dcc_testkit::{Daemon, DaemonKind, World, bins, compare, workload};

fn start(w: &World, kind: DaemonKind) -> Daemon {
    match kind {
        DaemonKind::Ours => Daemon::ours(w),
        DaemonKind::Debian => Daemon::debian(w),
    }
}

fn host(d: &Daemon, lzo: bool) -> String {
    if lzo {
        format!("{},lzo", d.host())
    } else {
        d.host()
    }
}

fn check_workload(name: &str, kind: DaemonKind, lzo: bool) {
    let w = World::new();
    let d = start(&w, kind);
    let reference = workload::reference_objects(name);
    let units = workload::units(&workload::prepare(name)).2.len();
    let build = w.path("build");
    let cc = format!("{} gcc", bins::ours("distcc").display());
    std::fs::create_dir_all(w.path("client_tmp")).unwrap();
    let out = workload::build(
        name,
        &build,
        &cc,
        4,
        &[
            ("DISTCC_HOSTS", &host(&d, lzo)),
            ("DISTCC_DIR", &w.path("distcc_dir").to_string_lossy()),
            ("TMPDIR", &w.path("client_tmp").to_string_lossy()),
            ("DISTCC_FALLBACK", "0"),
        ],
    );
    assert!(
        out.status.success(),
        "{name} via {kind:?} lzo={lzo} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log_text()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "a clean build is silent"
    );
    let diffs = compare::trees(&reference, &build.join("obj"));
    assert!(
        diffs.is_empty(),
        "{name} via {kind:?} lzo={lzo}: {diffs:#?}"
    );
    let log = d.wait_log(" COMPILE_OK ", units);
    assert_eq!(log.matches(" COMPILE_OK ").count(), units);
    assert!(client_tmp_leftovers(&w).is_empty());
}

#[test]
fn lua_through_debian_protocol_1() {
    check_workload("lua", DaemonKind::Debian, false);
}

#[test]
fn lua_through_ours_protocol_2() {
    check_workload("lua", DaemonKind::Ours, true);
}

#[test]
fn zstd_through_ours_protocol_1() {
    check_workload("zstd", DaemonKind::Ours, false);
}

#[test]
fn zstd_through_debian_protocol_2() {
    check_workload("zstd", DaemonKind::Debian, true);
}

/// GoogleTest and GoogleMock (Debian's googletest sources): real C++, built with
/// `CXX="distcc g++"`.
#[test]
fn gtest_through_ours_protocol_2() {
    check_workload("gtest", DaemonKind::Ours, true);
}

#[test]
fn gtest_through_debian_protocol_1() {
    check_workload("gtest", DaemonKind::Debian, false);
}

const CPP_FILES: &[(&str, &str)] = &[
    (
        "shapes.hpp",
        r#"#pragma once
#include <memory>
#include <string>
#include <vector>
struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};
std::vector<std::unique_ptr<Shape>> make_shapes(int n);
template <typename T, typename F>
auto fold(const std::vector<T>& v, F f) {
    decltype(f(v.front(), v.front())) acc{};
    for (const auto& x : v) acc = f(acc, x);
    return acc;
}
"#,
    ),
    (
        "shapes.cpp",
        r#"#include "shapes.hpp"
#include <cmath>
namespace {
struct Circle : Shape {
    double r;
    explicit Circle(double r) : r(r) {}
    double area() const override { return M_PI * r * r; }
    std::string name() const override { return "circle " + std::to_string(r); }
};
struct Square : Shape {
    double s;
    explicit Square(double s) : s(s) {}
    double area() const override { return s * s; }
    std::string name() const override { return "square " + std::to_string(s); }
};
}
std::vector<std::unique_ptr<Shape>> make_shapes(int n) {
    std::vector<std::unique_ptr<Shape>> v;
    for (int i = 0; i < n; ++i) {
        if (i % 2) v.push_back(std::make_unique<Circle>(i));
        else v.push_back(std::make_unique<Square>(i));
    }
    return v;
}
"#,
    ),
    (
        "index.cpp",
        r#"#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
std::map<std::string, std::set<int>> build_index(const std::string& text) {
    std::map<std::string, std::set<int>> idx;
    std::istringstream in(text);
    std::string word;
    int pos = 0;
    while (in >> word) {
        std::transform(word.begin(), word.end(), word.begin(), ::tolower);
        idx[word].insert(pos++);
    }
    return idx;
}
std::unordered_map<char, int> histogram(const std::string& s) {
    std::unordered_map<char, int> h;
    for (char c : s) ++h[c];
    return h;
}
"#,
    ),
    (
        "main.cpp",
        r#"#include "shapes.hpp"
#include <functional>
#include <iostream>
#include <numeric>
#include <optional>
#include <variant>
template <int N> struct Fib { static constexpr long value = Fib<N - 1>::value + Fib<N - 2>::value; };
template <> struct Fib<0> { static constexpr long value = 0; };
template <> struct Fib<1> { static constexpr long value = 1; };
using Value = std::variant<int, double, std::string>;
std::optional<double> total(int n) {
    auto shapes = make_shapes(n);
    if (shapes.empty()) return std::nullopt;
    std::vector<double> areas;
    for (auto& s : shapes) areas.push_back(s->area());
    return fold(areas, std::plus<double>());
}
int main() {
    Value v = std::string("fib");
    std::visit([](auto&& x) { std::cout << x << ' '; }, v);
    std::cout << Fib<40>::value << ' ' << total(10).value_or(0) << '\n';
}
"#,
    ),
];

fn cpp_project(root: &Path) {
    std::fs::create_dir_all(root.join("obj")).unwrap();
    for (name, text) in CPP_FILES {
        std::fs::write(root.join(name), text).unwrap();
    }
    std::fs::write(
        root.join("Makefile"),
        "OBJS := obj/shapes.o obj/index.o obj/main.o\n\
         all: $(OBJS)\n\
         obj/%.o: %.cpp shapes.hpp\n\
         \t$(CXX) -O2 -std=c++17 -Wall -MMD -c $< -o $@\n",
    )
    .unwrap();
}

fn make(dir: &Path, cxx: &str, env: &[(&str, String)]) -> std::process::Output {
    let mut c = Command::new("make");
    c.arg("-s")
        .arg("-j4")
        .arg(format!("CXX={cxx}"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn cpp_project_through_both_daemons() {
    let w = World::new();
    let reference = w.path("reference");
    cpp_project(&reference);
    let o = make(&reference, "g++", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (kind, lzo) in [(DaemonKind::Debian, true), (DaemonKind::Ours, false)] {
        let d = start(&w, kind);
        let dir = w.path(&format!("cpp-{kind:?}"));
        cpp_project(&dir);
        let cxx = format!("{} g++", bins::ours("distcc").display());
        let o = make(
            &dir,
            &cxx,
            &[
                ("DISTCC_HOSTS", host(&d, lzo)),
                ("DISTCC_DIR", w.path("distcc_dir").to_string_lossy().into()),
                ("DISTCC_FALLBACK", "0".into()),
            ],
        );
        assert!(
            o.status.success(),
            "{kind:?}: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            d.log_text()
        );
        // Objects and the -MMD dependency files alike.
        let diffs = compare::trees(&reference.join("obj"), &dir.join("obj"));
        assert!(diffs.is_empty(), "{kind:?}: {diffs:#?}");
        let log = d.wait_log(" COMPILE_OK ", 3);
        assert_eq!(log.matches(" COMPILE_OK ").count(), 3, "{kind:?}");
        assert!(log.contains("x86_64-linux-gnu-g++"), "{log}");
    }
}
