//! palisade's own parse of the input: an arena DOM built by html5ever's tree builder, fed in
//! chunks so that a nesting limit stops the parse early.
//!
//! html5ever's tree builder scans the stack of open elements for many start tags, so its cost
//! grows with depth × size: 500 KB of `<div>` takes about 30 s to sanitize with plain ammonia.
//! This parse watches the depth of every element as it is inserted and gives up as soon as the
//! limit is passed, so no parse (and never ammonia) runs on input that is too deep.
//!
//! Everything here is iterative: the arena is a `Vec`, traversals use explicit stacks, so
//! nothing recurses on the input's depth.

use std::{borrow::Cow, cell::Cell, cell::RefCell, io, rc::Rc};

use html5ever::{
    Attribute, LocalName, Namespace, QualName,
    interface::{ElemName, ElementFlags, NodeOrText, QuirksMode, TreeSink},
    local_name, ns,
    serialize::{AttrRef, Serialize, Serializer, TraversalScope},
    tendril::{StrTendril, TendrilSink},
};

/// Bytes fed to the parser between two depth checks. At three bytes per tag, a chunk can add
/// at most ~1400 levels past the limit before the parse stops.
const CHUNK: usize = 4096;

pub(crate) type Id = usize;

pub(crate) enum Data {
    Document,
    Element {
        name: Rc<QualName>,
        attrs: Vec<Attribute>,
        template: Option<Id>,
        mathml_integration: bool,
    },
    Text(String),
    Comment(String),
    Other,
}

pub(crate) struct Node {
    pub(crate) parent: Option<Id>,
    /// For a template's contents fragment: the template, so depth counts through it.
    host: Option<Id>,
    pub(crate) children: Vec<Id>,
    pub(crate) data: Data,
}

/// The parsed input. Node 0 is the document; its single child is the `html` element that
/// html5ever creates for a fragment, whose children are the input's top-level nodes.
pub(crate) struct Dom {
    pub(crate) nodes: Vec<Node>,
}

impl Dom {
    /// The input's top-level nodes.
    pub(crate) fn roots(&self) -> &[Id] {
        self.nodes
            .first()
            .and_then(|doc| doc.children.first())
            .and_then(|&html| self.nodes.get(html))
            .map_or(&[], |html| html.children.as_slice())
    }

    pub(crate) fn node(&self, id: Id) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// Children of an element, including a template's contents.
    pub(crate) fn children_of(&self, id: Id) -> Vec<Id> {
        let Some(node) = self.nodes.get(id) else {
            return Vec::new();
        };
        let mut out = node.children.clone();
        if let Data::Element {
            template: Some(t), ..
        } = node.data
            && let Some(contents) = self.nodes.get(t)
        {
            out.extend_from_slice(&contents.children);
        }
        out
    }
}

/// Why the bounded parse stopped.
pub(crate) enum ParseFailure {
    TooDeep,
}

/// Parses `input` as ammonia does (a fragment in a `div` context), refusing nesting deeper than
/// `max_depth`. With `keep_content` false, text, comments and attributes are not stored: only
/// the depth is measured.
pub(crate) fn parse(input: &str, max_depth: u32, keep_content: bool) -> Result<Dom, ParseFailure> {
    let too_deep = Rc::new(Cell::new(false));
    let sink = Sink {
        nodes: RefCell::new(Vec::with_capacity(64)),
        names: RefCell::new(Vec::with_capacity(64)),
        max_depth,
        keep_content,
        too_deep: Rc::clone(&too_deep),
    };
    sink.new_node(Data::Document, None);
    let mut parser = html5ever::parse_fragment(
        sink,
        html5ever::ParseOpts::default(),
        QualName::new(None, ns!(html), local_name!("div")),
        Vec::new(),
        false,
    );
    let mut rest = input;
    while !rest.is_empty() {
        let mut cut = rest.len().min(CHUNK);
        while !rest.is_char_boundary(cut) {
            cut -= 1; // a char is at most 4 bytes and CHUNK > 4, so this stops above 0
        }
        let (chunk, tail) = rest.split_at(cut);
        parser.process(StrTendril::from_slice(chunk));
        if too_deep.get() {
            return Err(ParseFailure::TooDeep);
        }
        rest = tail;
    }
    let dom = parser.finish();
    if too_deep.get() {
        return Err(ParseFailure::TooDeep);
    }
    Ok(dom)
}

struct Sink {
    nodes: RefCell<Vec<Node>>,
    /// Element names by node id (`None` for other nodes), apart from `nodes` so that
    /// `elem_name` hands out a cheap `Rc` without holding a borrow.
    names: RefCell<Vec<Option<Rc<QualName>>>>,
    max_depth: u32,
    keep_content: bool,
    too_deep: Rc<Cell<bool>>,
}

/// An element name handed to the tree builder.
#[derive(Debug)]
pub(crate) struct Name(Rc<QualName>);

impl ElemName for Name {
    fn ns(&self) -> &Namespace {
        &self.0.ns
    }
    fn local_name(&self) -> &LocalName {
        &self.0.local
    }
}

impl Sink {
    fn new_node(&self, data: Data, host: Option<Id>) -> Id {
        let name = match &data {
            Data::Element { name, .. } => Some(Rc::clone(name)),
            _ => None,
        };
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            parent: None,
            host,
            children: Vec::new(),
            data,
        });
        self.names.borrow_mut().push(name);
        nodes.len() - 1
    }

    fn detach(nodes: &mut [Node], child: Id) {
        if let Some(parent) = nodes.get(child).and_then(|n| n.parent)
            && let Some(p) = nodes.get_mut(parent)
        {
            p.children.retain(|&c| c != child);
        }
        if let Some(c) = nodes.get_mut(child) {
            c.parent = None;
        }
    }

    /// Depth of `id` below the fragment's `html` element, counted up to `max_depth + 1`.
    fn check_depth(&self, nodes: &[Node], id: Id) {
        let limit = self.max_depth.saturating_add(2); // document and html element
        let mut depth = 0u32;
        let mut at = Some(id);
        while let Some(current) = at {
            depth += 1;
            if depth > limit {
                self.too_deep.set(true);
                return;
            }
            at = nodes.get(current).and_then(|n| n.parent.or(n.host));
        }
    }

    fn insert(&self, parent: Id, index: Option<usize>, child: NodeOrText<Id>) {
        match child {
            NodeOrText::AppendNode(node) => {
                let mut nodes = self.nodes.borrow_mut();
                Self::detach(&mut nodes, node);
                if let Some(p) = nodes.get_mut(parent) {
                    let at = index.unwrap_or(p.children.len()).min(p.children.len());
                    p.children.insert(at, node);
                }
                if let Some(n) = nodes.get_mut(node) {
                    n.parent = Some(parent);
                }
                self.check_depth(&nodes, node);
            }
            NodeOrText::AppendText(text) => {
                if !self.keep_content {
                    return;
                }
                {
                    let mut nodes = self.nodes.borrow_mut();
                    let len = nodes.get(parent).map_or(0, |p| p.children.len());
                    let at = index.unwrap_or(len).min(len);
                    let previous = at
                        .checked_sub(1)
                        .and_then(|i| nodes.get(parent).and_then(|p| p.children.get(i)).copied());
                    if let Some(prev) = previous
                        && let Some(Node {
                            data: Data::Text(existing),
                            ..
                        }) = nodes.get_mut(prev)
                    {
                        existing.push_str(&text);
                        return;
                    }
                }
                let id = self.new_node(Data::Text(text.to_string()), None);
                let mut nodes = self.nodes.borrow_mut();
                if let Some(p) = nodes.get_mut(parent) {
                    let at = index.unwrap_or(p.children.len()).min(p.children.len());
                    p.children.insert(at, id);
                }
                if let Some(n) = nodes.get_mut(id) {
                    n.parent = Some(parent);
                }
            }
        }
    }
}

impl TreeSink for Sink {
    type Handle = Id;
    type Output = Dom;
    type ElemName<'a> = Name;

    fn finish(self) -> Dom {
        Dom {
            nodes: self.nodes.into_inner(),
        }
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> Id {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a Id) -> Name {
        let names = self.names.borrow();
        // The tree builder asks only for the names of elements it created through this sink.
        let name = names.get(*target).and_then(Option::as_ref).map_or_else(
            || Rc::new(QualName::new(None, ns!(html), local_name!("div"))),
            Rc::clone,
        );
        Name(name)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Id {
        let attrs = if self.keep_content { attrs } else { Vec::new() };
        let id = self.new_node(
            Data::Element {
                name: Rc::new(name),
                attrs,
                template: None,
                mathml_integration: flags.mathml_annotation_xml_integration_point,
            },
            None,
        );
        if flags.template {
            let contents = self.new_node(Data::Document, Some(id));
            if let Some(Node {
                data: Data::Element { template, .. },
                ..
            }) = self.nodes.borrow_mut().get_mut(id)
            {
                *template = Some(contents);
            }
        }
        id
    }

    fn create_comment(&self, text: StrTendril) -> Id {
        let text = if self.keep_content {
            text.to_string()
        } else {
            String::new()
        };
        self.new_node(Data::Comment(text), None)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> Id {
        self.new_node(Data::Other, None)
    }

    fn append(&self, parent: &Id, child: NodeOrText<Id>) {
        self.insert(*parent, None, child);
    }

    fn append_based_on_parent_node(&self, element: &Id, prev: &Id, child: NodeOrText<Id>) {
        let has_parent = self
            .nodes
            .borrow()
            .get(*element)
            .is_some_and(|n| n.parent.is_some());
        if has_parent {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &Id) -> Id {
        match self.nodes.borrow().get(*target).map(|n| &n.data) {
            Some(Data::Element {
                template: Some(t), ..
            }) => *t,
            _ => *target,
        }
    }

    fn same_node(&self, x: &Id, y: &Id) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &Id, new_node: NodeOrText<Id>) {
        let (parent, index) = {
            let nodes = self.nodes.borrow();
            let Some(parent) = nodes.get(*sibling).and_then(|n| n.parent) else {
                return;
            };
            let index = nodes
                .get(parent)
                .and_then(|p| p.children.iter().position(|c| c == sibling));
            (parent, index)
        };
        // Detaching the new node first may shift the sibling's index.
        if let NodeOrText::AppendNode(node) = &new_node {
            let mut nodes = self.nodes.borrow_mut();
            Self::detach(&mut nodes, *node);
        }
        let index = self
            .nodes
            .borrow()
            .get(parent)
            .and_then(|p| p.children.iter().position(|c| c == sibling))
            .or(index);
        self.insert(parent, index, new_node);
    }

    fn add_attrs_if_missing(&self, target: &Id, attrs: Vec<Attribute>) {
        if !self.keep_content {
            return;
        }
        if let Some(Node {
            data: Data::Element {
                attrs: existing, ..
            },
            ..
        }) = self.nodes.borrow_mut().get_mut(*target)
        {
            for attr in attrs {
                if !existing.iter().any(|a| a.name == attr.name) {
                    existing.push(attr);
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &Id) {
        Self::detach(&mut self.nodes.borrow_mut(), *target);
    }

    fn reparent_children(&self, node: &Id, new_parent: &Id) {
        let mut nodes = self.nodes.borrow_mut();
        let moved = nodes
            .get_mut(*node)
            .map(|n| std::mem::take(&mut n.children))
            .unwrap_or_default();
        for &child in &moved {
            if let Some(c) = nodes.get_mut(child) {
                c.parent = Some(*new_parent);
            }
        }
        if let Some(p) = nodes.get_mut(*new_parent) {
            p.children.extend_from_slice(&moved);
        }
        for &child in &moved {
            self.check_depth(&nodes, child);
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Id) -> bool {
        matches!(
            self.nodes.borrow().get(*handle).map(|n| &n.data),
            Some(Data::Element {
                mathml_integration: true,
                ..
            })
        )
    }
}

/// How [`Escaped`] renders one element.
pub(crate) enum Render {
    /// As markup.
    Keep,
    /// As text showing its tags, children rendered inside.
    Escape,
}

/// A serializable view of the DOM in which elements the policy does not allow are shown as
/// text (escape mode). The result is sanitized by ammonia afterwards, so this view only has to
/// keep allowed markup and turn the rest into text.
pub(crate) struct Escaped<'a, F: Fn(&QualName) -> Render> {
    pub(crate) dom: &'a Dom,
    pub(crate) render: F,
    pub(crate) keep_comments: bool,
}

enum Step {
    Open(Id),
    Close(Id, bool),
}

impl<F: Fn(&QualName) -> Render> Serialize for Escaped<'_, F> {
    fn serialize<S: Serializer>(&self, s: &mut S, _scope: TraversalScope) -> io::Result<()> {
        let mut stack: Vec<Step> = self
            .dom
            .roots()
            .iter()
            .rev()
            .map(|&id| Step::Open(id))
            .collect();
        while let Some(step) = stack.pop() {
            match step {
                Step::Open(id) => {
                    let Some(node) = self.dom.node(id) else {
                        continue;
                    };
                    match &node.data {
                        Data::Text(text) => s.write_text(text)?,
                        Data::Comment(text) if self.keep_comments => s.write_comment(text)?,
                        Data::Element { name, attrs, .. } => {
                            let keep = matches!((self.render)(name), Render::Keep);
                            if keep {
                                let refs: Vec<AttrRef<'_>> =
                                    attrs.iter().map(|a| (&a.name, &*a.value)).collect();
                                s.start_elem((**name).clone(), refs.into_iter())?;
                            } else {
                                s.write_text(&start_tag_text(name, attrs))?;
                            }
                            stack.push(Step::Close(id, keep));
                            for &child in self.dom.children_of(id).iter().rev() {
                                stack.push(Step::Open(child));
                            }
                        }
                        _ => {}
                    }
                }
                Step::Close(id, keep) => {
                    let Some(Data::Element { name, .. }) = self.dom.node(id).map(|n| &n.data)
                    else {
                        continue;
                    };
                    if keep {
                        s.end_elem((**name).clone())?;
                    } else if !super::vocab::VOID.contains(&&*name.local) {
                        s.write_text(&format!("</{}>", name.local))?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// `<name attr="value">` as it would be written, for display as text.
pub(crate) fn start_tag_text(name: &QualName, attrs: &[Attribute]) -> String {
    let mut out = format!("<{}", name.local);
    for attr in attrs {
        out.push(' ');
        if let Some(prefix) = &attr.name.prefix {
            out.push_str(prefix);
            out.push(':');
        }
        out.push_str(&attr.name.local);
        out.push_str("=\"");
        out.push_str(&attr.value.replace('"', "&quot;"));
        out.push('"');
    }
    out.push('>');
    out
}

/// Serializes a view to a string with html5ever's serializer.
pub(crate) fn to_html<T: Serialize>(view: &T) -> String {
    let mut out = Vec::new();
    let opts = html5ever::serialize::SerializeOpts {
        traversal_scope: TraversalScope::ChildrenOnly(None),
        create_missing_parent: true,
        ..Default::default()
    };
    // Writing to a Vec cannot fail.
    if html5ever::serialize::serialize(&mut out, view, opts).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}
