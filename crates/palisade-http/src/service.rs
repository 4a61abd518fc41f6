//! The boilerplate every layer's service shares.

/// Declares the service a layer wraps around an inner service: the struct (the inner service
/// and a copy of the layer), `Clone` and `Debug` without bounds on the layer's own parameters,
/// and the layer's `tower::Layer` implementation. The `Service` implementation, where the
/// layers differ, is written beside it.
macro_rules! layer_service {
    (
        $(#[$attr:meta])*
        pub struct $service:ident<S $(, $param:ident)*> of $layer:ty;
    ) => {
        $(#[$attr])*
        pub struct $service<S $(, $param)*> {
            inner: S,
            layer: $layer,
        }

        impl<S: Clone $(, $param)*> Clone for $service<S $(, $param)*> {
            fn clone(&self) -> Self {
                Self {
                    inner: self.inner.clone(),
                    layer: self.layer.clone(),
                }
            }
        }

        impl<S: std::fmt::Debug $(, $param)*> std::fmt::Debug for $service<S $(, $param)*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($service))
                    .field("inner", &self.inner)
                    .field("layer", &self.layer)
                    .finish()
            }
        }

        impl<S $(, $param)*> tower::Layer<S> for $layer {
            type Service = $service<S $(, $param)*>;

            fn layer(&self, inner: S) -> Self::Service {
                $service {
                    inner,
                    layer: self.clone(),
                }
            }
        }
    };
}

pub(crate) use layer_service;
